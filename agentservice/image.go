package agentservice

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"

	"github.com/agentcdk/agentcdk/internal/token"
)

// Image says where the container image comes from. Set exactly one of
// Directory, Registry or ContainerImage; the ImageFrom... functions do.
type Image struct {
	// Directory is a Docker build context on the machine that synthesizes;
	// the image is built and pushed as a CDK container image asset, for the
	// task's CPU architecture.
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
	// "public.ecr.aws/org/agent:1.4.2" or a Docker Hub name.
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
	if i.Directory != nil {
		n++
		if !token.IsString(i.Directory) && *i.Directory == "" {
			return errors.New("agentservice: Image.Directory is empty; give the path of a Docker build context")
		}
	}
	if i.Registry != nil {
		n++
		if !token.IsString(i.Registry) && *i.Registry == "" {
			return errors.New("agentservice: Image.Registry is empty; give an image reference such as public.ecr.aws/org/agent:1.0")
		}
	}
	if i.ContainerImage != nil {
		n++
	}
	if n != 1 {
		return fmt.Errorf("agentservice: Image sets %d of Directory, Registry and ContainerImage; set exactly one", n)
	}
	if i.Directory == nil && (i.File != nil || i.BuildArgs != nil || i.Exclude != nil) {
		return errors.New("agentservice: Image.File, BuildArgs and Exclude apply only to Image.Directory")
	}
	return nil
}

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
