package testparallel

import (
	"flag"
	"testing"
)

func TestDefaultKeepsWhatTheCommandLineSet(t *testing.T) {
	// GIVEN -test.parallel as the command line left it
	before := flag.Lookup("test.parallel").Value.String()
	setOnCommandLine := false
	flag.Visit(func(f *flag.Flag) { setOnCommandLine = setOnCommandLine || f.Name == "test.parallel" })

	// WHEN Default asks for 7
	if err := Default(7); err != nil {
		t.Fatal(err)
	}

	// THEN it is 7, unless the command line named a value, which stays
	got := flag.Lookup("test.parallel").Value.String()
	want := "7"
	if setOnCommandLine {
		want = before
	}
	if got != want {
		t.Errorf("-test.parallel = %s, want %s (set on the command line: %t)", got, want, setOnCommandLine)
	}
}
