package agentservice

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"

	"github.com/agentcdk/agentcdk/internal/token"
)

// Image says where the container image comes from. Set exactly one of
// Directory, Registry or ContainerImage; the ImageFrom... functions do.
type Image struct {
	// Directory is a Docker build context on the machine that synthesizes;
	// the image is built and pushed as a CDK container image asset, for the
	// task's CPU architecture. It must exist, with its Dockerfile, when the
	// app synthesizes; a relative path is from the app's working directory.
	Directory *string
	// File is the Dockerfile's path relative to Directory.
	//
	// Default: "Dockerfile".
	File *string
	// BuildArgs are passed to the Docker build.
	//
	// Default: - none.
	BuildArgs *map[string]*string
	// Exclude lists glob patterns left out of the build context (on top of
	// a .dockerignore in Directory, which is honoured).
	//
	// Default: - none.
	Exclude *[]*string

	// Registry is an image reference to pull, such as
	// "public.ecr.aws/org/agent:1.4.2" or a Docker Hub name, in Docker's
	// grammar: [registry/]repository[:tag][@digest], the repository in
	// lower case.
	Registry *string

	// ContainerImage is any image the CDK can describe (ECR repository,
	// tarball, ...). The caller is responsible for its architecture.
	ContainerImage awsecs.ContainerImage
}

// ImageFromDirectory builds the image from the Dockerfile in dir when the
// stack deploys (a container image asset).
func ImageFromDirectory(dir string) *Image { return &Image{Directory: &dir} }

// ImageFromRegistry pulls the image name from a public or private registry.
func ImageFromRegistry(name string) *Image { return &Image{Registry: &name} }

// ImageFromContainerImage uses an image the caller has already described.
func ImageFromContainerImage(image awsecs.ContainerImage) *Image {
	return &Image{ContainerImage: image}
}

func (i *Image) validate() error {
	n := 0
	for _, set := range []bool{i.Directory != nil, i.Registry != nil, i.ContainerImage != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("agentservice: Image sets %d of Directory, Registry and ContainerImage; set exactly one", n)
	}
	if i.Directory == nil && (i.File != nil || i.BuildArgs != nil || i.Exclude != nil) {
		return errors.New("agentservice: Image.File, BuildArgs and Exclude apply only to Image.Directory")
	}
	switch {
	case i.Directory != nil:
		return i.validateDirectory()
	case i.Registry != nil:
		return validateReference(i.Registry)
	}
	return nil
}

// validateReference checks an image reference to pull, unless it is a token.
func validateReference(r *string) error {
	switch {
	case token.IsString(r):
		return nil
	case *r == "":
		return errors.New("agentservice: Image.Registry is empty; give an image reference such as public.ecr.aws/org/agent:1.0")
	case !imageReference.MatchString(*r):
		return fmt.Errorf("agentservice: Image.Registry %q is not an image reference; use [registry/]repository[:tag][@digest], "+
			"repository in lower case, such as public.ecr.aws/org/agent:1.0", *r)
	}
	return nil
}

// validateDirectory checks, on the machine that synthesizes, that the build
// context and its Dockerfile exist: the CDK would otherwise fail halfway
// through construction, with a message about neither prop.
func (i *Image) validateDirectory() error {
	dir := i.Directory
	if token.IsString(dir) {
		return nil
	}
	if *dir == "" {
		return errors.New("agentservice: Image.Directory is empty; give the path of a Docker build context")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		abs = *dir
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return fmt.Errorf("agentservice: Image.Directory %q (%s) is not a directory; give the path of a Docker build context, relative to the directory the app runs in", *dir, abs)
	}
	if token.IsString(i.File) {
		return nil // the Dockerfile's name is not known until deploy
	}
	file := "Dockerfile"
	if i.File != nil {
		file = *i.File
	}
	if st, err := os.Stat(filepath.Join(*dir, file)); err != nil || st.IsDir() {
		return fmt.Errorf("agentservice: Image.Directory %q has no %s; put the Dockerfile there, or name it with Image.File (relative to Directory)", *dir, file)
	}
	return nil
}

// imageReference is Docker's grammar for an image reference
// (distribution/reference): an optional registry host with a port, a
// lower-case repository path, an optional tag and an optional digest.
var imageReference = func() *regexp.Regexp {
	const (
		domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		domain          = domainComponent + `(?:\.` + domainComponent + `)*(?::[0-9]+)?`
		pathComponent   = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
		tag             = `[\w][\w.-]{0,127}`
		digest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(?:` + domain + `/)?` + pathComponent + `(?:/` + pathComponent + `)*(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// containerImage describes the image for a task of the given platform.
func (i *Image) containerImage(platform awsecrassets.Platform) awsecs.ContainerImage {
	switch {
	case i.ContainerImage != nil:
		return i.ContainerImage
	case i.Registry != nil:
		return awsecs.ContainerImage_FromRegistry(i.Registry, nil)
	default:
		return awsecs.ContainerImage_FromAsset(i.Directory, &awsecs.AssetImageProps{
			File:      i.File,
			BuildArgs: i.BuildArgs,
			Exclude:   i.Exclude,
			Platform:  platform,
		})
	}
}
