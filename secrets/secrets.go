package secrets

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Secret is one container environment variable filled from a secret store
// when the task starts. Set exactly one source: ParameterName or
// SecretsManager.
type Secret struct {
	// EnvName is the environment variable's name: letters, digits and
	// underscores, not starting with a digit. Required.
	EnvName *string

	// ParameterName is the fully qualified name of an SSM Parameter Store
	// SecureString parameter in the stack's account and region, such as
	// "/agents/prod/OPENAI_API_KEY". Default: none (use SecretsManager).
	ParameterName *string

	// Version pins the SSM parameter version, 1 or more. ECS itself always
	// reads the latest version at task start (see the package doc); the
	// agentservice constructs put the pin in a container label, so that a
	// changed pin makes new tasks.
	// Default: the latest version, no pin.
	Version *float64

	// SecretsManager is a Secrets Manager secret.
	// Default: none (use ParameterName).
	SecretsManager awssecretsmanager.ISecret

	// Field is one top-level JSON field of the Secrets Manager secret.
	// Default: the whole secret.
	Field *string

	// EncryptionKey is the customer-managed KMS key that encrypts the
	// parameter or secret; the execution role gets kms:Decrypt on it. For
	// a parameter and a key made in the app (NewParameterKey's, or any
	// awskms.Key), the key's policy also names the execution role, with
	// kms:Decrypt through Parameter Store only.
	// Default: the AWS-managed key, for which no grant is needed (or, for
	// a secret, the key the ISecret already knows).
	EncryptionKey awskms.IKey
}

// FromParameter reads envName from the SSM SecureString parameter
// parameterName. version pins the parameter version; 0 means the latest.
func FromParameter(envName, parameterName string, version int) *Secret {
	s := &Secret{EnvName: &envName, ParameterName: &parameterName}
	if version != 0 {
		v := float64(version)
		s.Version = &v
	}
	return s
}

// FromParameters reads each of envNames from the parameter of the same
// name under prefix: "/agents/prod" and "OPENAI_API_KEY" read
// "/agents/prod/OPENAI_API_KEY". A trailing "/" on prefix is ignored; an
// empty prefix reads the simple name. version pins every parameter to the
// same version; 0 means the latest.
func FromParameters(prefix string, version int, envNames ...string) []*Secret {
	list := make([]*Secret, 0, len(envNames))
	for _, name := range envNames {
		list = append(list, FromParameter(name, joinName(prefix, name), version))
	}
	return list
}

func joinName(prefix, name string) string {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

// FromSecretsManager reads envName from the whole Secrets Manager secret.
func FromSecretsManager(envName string, secret awssecretsmanager.ISecret) *Secret {
	return &Secret{EnvName: &envName, SecretsManager: secret}
}

// FromSecretsManagerField reads envName from one top-level JSON field of
// the Secrets Manager secret (Fargate platform 1.4.0 or later).
func FromSecretsManagerField(envName string, secret awssecretsmanager.ISecret, field string) *Secret {
	return &Secret{EnvName: &envName, SecretsManager: secret, Field: &field}
}

// childID is the ID of the construct Bind creates its imports under.
const childID = "Secrets"

// Bind turns list into the ECS container secrets map (for
// awsecs.ContainerDefinitionOptions.Secrets). It imports each SSM
// parameter under scope/Secrets/<EnvName> (imports synthesize no
// resource). Call it at most once per scope.
// An empty list creates nothing. Bind panics with the Validate message on
// bad input, before creating anything.
//
// The grants happen when the map is given to a container: ECS then lets
// the task's execution role read exactly these parameters and secrets.
func Bind(scope constructs.Construct, list []*Secret) *map[string]awsecs.Secret {
	if err := Validate(list); err != nil {
		panic(err.Error())
	}
	out := make(map[string]awsecs.Secret, len(list))
	if len(list) == 0 {
		return &out
	}
	parent := constructs.NewConstruct(scope, jsii.String(childID))
	for _, s := range list {
		out[*s.EnvName] = bind(parent, s)
	}
	return &out
}

func bind(scope constructs.Construct, s *Secret) awsecs.Secret {
	id := s.EnvName
	if s.ParameterName != nil {
		param := awsssm.StringParameter_FromSecureStringParameterAttributes(scope, id, &awsssm.SecureStringParameterAttributes{
			ParameterName: s.ParameterName,
			Version:       s.Version,
			EncryptionKey: s.EncryptionKey,
		})
		secret := awsecs.Secret_FromSsmParameter(param)
		if s.EncryptionKey == nil {
			return secret
		}
		return withKeyGrant(secret, func(grantee awsiam.IGrantable) { grantDecryptViaParameterStore(s.EncryptionKey, grantee) })
	}
	secret := awsecs.Secret_FromSecretsManager(s.SecretsManager, s.Field)
	if s.EncryptionKey == nil {
		return secret
	}
	// The ISecret's own grant goes through a kms:ViaService principal,
	// which an imported key silently drops; granting the key directly to
	// the execution role does not.
	key := s.EncryptionKey
	return withKeyGrant(secret, func(grantee awsiam.IGrantable) { key.GrantDecrypt(grantee) })
}

// keyedSecret is a container secret whose read grant also grants the
// decryption of its customer-managed key, by grantKey: a Secrets Manager
// secret's key directly, a Parameter Store parameter's through Parameter
// Store (grantDecryptViaParameterStore).
type keyedSecret struct {
	awsecs.Secret
	inner    awsecs.Secret
	grantKey func(grantee awsiam.IGrantable)
}

func withKeyGrant(inner awsecs.Secret, grantKey func(awsiam.IGrantable)) awsecs.Secret {
	s := &keyedSecret{inner: inner, grantKey: grantKey}
	awsecs.NewSecret_Override(s)
	return s
}

// Arn is the ARN ECS reads the value from.
func (s *keyedSecret) Arn() *string { return s.inner.Arn() }

// HasField reports whether the secret selects one JSON field.
func (s *keyedSecret) HasField() *bool { return s.inner.HasField() }

// GrantRead lets grantee read the secret and decrypt it with its key.
func (s *keyedSecret) GrantRead(grantee awsiam.IGrantable) awsiam.Grant {
	s.grantKey(grantee)
	return s.inner.GrantRead(grantee)
}

// LabelPrefix starts the Docker label VersionLabels writes for each pinned
// parameter: "agentcdk.secret-version.OPENAI_API_KEY" = "1".
const LabelPrefix = "agentcdk.secret-version."

// VersionLabels returns one Docker label per pinned SSM parameter, for
// awsecs.ContainerDefinitionOptions.DockerLabels (nil when nothing is
// pinned). The labels make a changed pin change the task definition, so
// the service rolls and every task reads the parameter again; ECS cannot
// read a pinned version itself (see the package doc). Labels hold version
// numbers only, never secret values.
func VersionLabels(list []*Secret) *map[string]*string {
	labels := map[string]*string{}
	for _, s := range list {
		if s == nil || s.EnvName == nil || s.ParameterName == nil || s.Version == nil {
			continue
		}
		// A token version prints as its CDK number encoding, which the CDK
		// resolves inside the label string.
		v := formatNumber(*s.Version)
		labels[LabelPrefix+*s.EnvName] = &v
	}
	if len(labels) == 0 {
		return nil
	}
	return &labels
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return fmt.Sprint(f)
}
