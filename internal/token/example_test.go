package token_test

import (
	"fmt"

	"github.com/agentcdk/agentcdk/internal/token"
)

func ExampleIsString() {
	plain := "/agents/prod/OPENAI_API_KEY"
	unresolved := "/agents/${Token[AWS.StackName.12]}/OPENAI_API_KEY"
	fmt.Println(token.IsString(&plain), token.IsString(&unresolved))
	// Output: false true
}

func ExampleIsNumber() {
	seventy := 70.0
	encoded := -1.8881545897087626e+289 // how the CDK encodes a number token
	fmt.Println(token.IsNumber(&seventy), token.IsNumber(&encoded))
	// Output: false true
}
