package agentservice_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// callerBudget is a budget of $2.50 and 50000 tokens per caller, in the
// default window.
var callerBudget = &astest.Case{Name: "CallerBudget", Web: func(awscdk.Stack) *agentservice.Props {
	return &agentservice.Props{Image: astest.RegistryImage(),
		ModelPrices:  map[string]agentservice.ModelPrice{"sonnet": {InputUSDPerMillionTokens: 3, OutputUSDPerMillionTokens: 15}},
		CallerBudget: &agentservice.CallerBudget{USDPerWindow: jsii.Number(2.5), TokensPerWindow: jsii.Number(50000)}}
}}

func TestTheTasksGetTheCallerBudget(t *testing.T) {
	// GIVEN a CallerBudget WHEN the stack is synthesized
	s := callerBudget.Synth(t)

	// THEN the container gets agentkit's budget variables, the window at
	// its default of an hour, in forms agentkit reads
	env := map[string]string{}
	for _, c := range *s.Template.FindResources(jsii.String("AWS::ECS::TaskDefinition"), nil) {
		for _, cd := range (*c)["Properties"].(map[string]any)["ContainerDefinitions"].([]any) {
			for _, e := range cd.(map[string]any)["Environment"].([]any) {
				kv := e.(map[string]any)
				if name := kv["Name"].(string); strings.HasPrefix(name, "AGENTKIT_CALLER_BUDGET_") {
					env[name] = kv["Value"].(string)
				}
			}
		}
	}
	want := map[string]string{agentkit.EnvCallerBudgetUSD: "2.5", agentkit.EnvCallerBudgetTokens: "50000", agentkit.EnvCallerBudgetWindow: "3600s"}
	if len(env) != len(want) {
		t.Fatalf("budget variables %v, want %v", env, want)
	}
	for name, v := range want {
		if env[name] != v {
			t.Errorf("%s = %q, want %q", name, env[name], v)
		}
		t.Setenv(name, env[name])
	}
	// AND agentkit reads them as the budget the props gave (the prices
	// come too: a dollar budget needs them)
	got, err := agentkit.BudgetFromEnv()
	if err != nil || got != (agentkit.Budget{USD: 2.5, Tokens: 50000, Window: agentkit.DefaultBudgetWindow}) {
		t.Errorf("agentkit reads %+v %v", got, err)
	}
}

func TestWithoutACallerBudgetTheTasksGetNone(t *testing.T) {
	// GIVEN the defaults WHEN the stack is synthesized
	s := astest.Defaults.Synth(t)
	resources := s.Synthesized.Template["Resources"].(map[string]any)
	var defs, dashboard string
	for _, r := range resources {
		res := r.(map[string]any)
		switch res["Type"] {
		case "AWS::ECS::TaskDefinition":
			defs += flatten(res["Properties"])
		case "AWS::CloudWatch::Dashboard":
			dashboard += flatten(res["Properties"].(map[string]any)["DashboardBody"])
		}
	}
	// THEN no budget variable is set: agentkit budgets nothing
	if strings.Contains(defs, "AGENTKIT_CALLER_BUDGET_") {
		t.Errorf("a budget variable without CallerBudget: %s", defs)
	}
	// AND the dashboard graphs the budget's refusals all the same, beside
	// the cap's
	if !strings.Contains(dashboard, `"`+agentkit.MetricRequestsOverBudget+`"`) || !strings.Contains(dashboard, `"`+agentkit.MetricRequestsRefused+`"`) {
		t.Errorf("the dashboard does not graph %s beside %s", agentkit.MetricRequestsOverBudget, agentkit.MetricRequestsRefused)
	}
}

func TestCallerBudgetIsValidated(t *testing.T) {
	img := astest.RegistryImage()
	prices := map[string]agentservice.ModelPrice{"m": {InputUSDPerMillionTokens: 1, OutputUSDPerMillionTokens: 2}}
	minutes := func(n float64) awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(n)) }
	for _, c := range []struct {
		name   string
		budget *agentservice.CallerBudget
		auth   *agentservice.Auth
		prices map[string]agentservice.ModelPrice
		env    map[string]string
		want   string
	}{
		{"no amount", &agentservice.CallerBudget{Window: minutes(5)}, nil, nil, nil,
			"agentservice: CallerBudget sets neither USDPerWindow nor TokensPerWindow; set one of them, or leave CallerBudget nil for no budget"},
		{"zero dollars", &agentservice.CallerBudget{USDPerWindow: jsii.Number(0)}, nil, prices, nil,
			"agentservice: CallerBudget.USDPerWindow 0 is out of range; use US dollars above 0 up to 1000000"},
		{"too many dollars", &agentservice.CallerBudget{USDPerWindow: jsii.Number(1e7)}, nil, prices, nil,
			"agentservice: CallerBudget.USDPerWindow 1e+07 is out of range; use US dollars above 0 up to 1000000"},
		{"dollars without prices", &agentservice.CallerBudget{USDPerWindow: jsii.Number(5)}, nil, nil, nil,
			"agentservice: CallerBudget.USDPerWindow 5 is set without ModelPrices; the tasks count dollars by the prices ModelPrices gives, so give them, or budget TokensPerWindow instead"},
		{"fractional tokens", &agentservice.CallerBudget{TokensPerWindow: jsii.Number(10.5)}, nil, nil, nil,
			"agentservice: CallerBudget.TokensPerWindow 10.5 is out of range; use a whole number from 1 to 1000000000000"},
		{"zero tokens", &agentservice.CallerBudget{TokensPerWindow: jsii.Number(0)}, nil, nil, nil,
			"agentservice: CallerBudget.TokensPerWindow 0 is out of range; use a whole number from 1 to 1000000000000"},
		{"window too short", &agentservice.CallerBudget{TokensPerWindow: jsii.Number(1), Window: awscdk.Duration_Seconds(jsii.Number(30))}, nil, nil, nil,
			"agentservice: CallerBudget.Window 30s is out of range; use 60s to 86400s"},
		{"window too long", &agentservice.CallerBudget{TokensPerWindow: jsii.Number(1), Window: awscdk.Duration_Days(jsii.Number(2))}, nil, nil, nil,
			"agentservice: CallerBudget.Window 172800s is out of range; use 60s to 86400s"},
		{"a budget variable in the environment", nil, nil, nil, map[string]string{"AGENTKIT_CALLER_BUDGET_TOKENS": "5"},
			"agentservice: Environment sets AGENTKIT_CALLER_BUDGET_TOKENS, which the construct sets from CallerBudget; set CallerBudget instead"},
		{"a budget with no caller check", &agentservice.CallerBudget{TokensPerWindow: jsii.Number(1000)}, agentservice.AuthNone(), nil, nil,
			"agentservice: CallerBudget is set with Auth AuthNone; a budget is kept per caller, and with no caller check every request is anonymous and unbudgeted: drop AuthNone (API keys by default, or AuthJWT), or drop CallerBudget"},
		{"the window in the environment", nil, nil, nil, map[string]string{"AGENTKIT_CALLER_BUDGET_WINDOW": "5m"},
			"agentservice: Environment sets AGENTKIT_CALLER_BUDGET_WINDOW, which the construct sets from CallerBudget; set CallerBudget instead"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the props
			p := &agentservice.Props{Image: img, CallerBudget: c.budget, Auth: c.auth, ModelPrices: c.prices}
			if c.env != nil {
				env := map[string]*string{}
				for k, v := range c.env {
					env[k] = jsii.String(v)
				}
				p.Environment = &env
			}
			// WHEN they are validated
			err := p.Validate()
			// THEN the message names the prop, the value and what is allowed
			if err == nil || err.Error() != c.want {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
	// AND budgets within range, or tokens, pass
	token := awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())
	for _, b := range []*agentservice.CallerBudget{
		{TokensPerWindow: jsii.Number(1), Window: minutes(1)},
		{USDPerWindow: jsii.Number(1e6), TokensPerWindow: jsii.Number(1e12), Window: awscdk.Duration_Hours(jsii.Number(24))},
		{USDPerWindow: token, TokensPerWindow: token, Window: awscdk.Duration_Minutes(token)},
	} {
		if err := (&agentservice.Props{Image: img, CallerBudget: b, ModelPrices: prices}).Validate(); err != nil {
			t.Errorf("Validate() = %v", err)
		}
	}
}
