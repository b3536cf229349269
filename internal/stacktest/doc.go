// Package stacktest proves synthesized CDK stacks the way a platform team
// would: cdk-nag's rule packs, cfn-lint, and a real deployment to a local
// AWS emulator (moto_server).
//
// Build a stack in an app from NewApp, then synthesize it once with the packs
// to apply, and share the result among subtests:
//
//	s := stacktest.Synth(t, stack, stacktest.AwsSolutions)
//	stacktest.NoFindings(t, s.Findings)                         // unsuppressed cdk-nag errors and warnings, and the CDK's
//	stacktest.ExpectSuppressions(t, s.Suppressions(), want...)  // exactly the accepted ones
//	scan := stacktest.ScanPacks(t, s.TemplatePath, stacktest.Packs...) // the template as a scanner reads it, every pack at once
//	stacktest.ExpectFindings(t, stacktest.HIPAA, scan[stacktest.HIPAA], "ELBDeletionProtectionEnabled")
//	stacktest.CfnLint(t, s.TemplatePath)                        // no error, no warning
//	d := stacktest.Deploy(t, mototest.Start(t), "Stack", s.TemplatePath)
//	d.Update(t, stacktest.NewRevision(d.Template, 2))
//
// Each of those costs a start: a synthesis, a cfn-lint process (seconds of
// Python before the first template), a moto_server. A package with many
// stacks pays each once: one ScanPacks for all packs, one CfnLint for all
// its templates, one emulator for all its deployments (under different
// stack names).
//
// Findings are read from the cloud assembly (the stack's metadata), so they
// are exactly what `cdk synth` would print. Suppressions are read from the
// template, where cdk-nag reads them (see package nag).
//
// Deploy does what `cdk deploy` does against the emulator: bootstrap
// resources, file assets, template upload, CreateStack. What it must do
// differently because moto is not AWS is in moto.go, with the reason (the
// copy of the template moto gets lacks what moto fails on: forMoto), and
// the resources moto does not implement are reported in Deployment.Skipped.
//
// CfnLint and Deploy need tools a fresh machine may lack (cfn-lint,
// moto_server): they skip without them, and fail instead under CI=true.
// The CDK objects are jsii proxies: never use them from parallel tests.
package stacktest
