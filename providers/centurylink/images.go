package centurylink

import (
	"context"
	"fmt"
	"strings"

	"github.com/drivecp/drivecp/providers"
)

// ListImages lists the templates of the data center's deployment
// capabilities.
func (c *Client) ListImages(ctx context.Context) ([]providers.Image, error) {
	loc, err := c.location(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.path(ctx, "/v2/datacenters", loc, "deploymentCapabilities")
	if err != nil {
		return nil, err
	}
	var caps capabilities
	if _, err := c.do(ctx, "get deployment capabilities", "GET", p, nil, &caps); err != nil {
		return nil, err
	}
	out := make([]providers.Image, len(caps.Templates))
	for i, t := range caps.Templates {
		arch := ""
		if strings.Contains(t.OSType, "64Bit") {
			arch = "64"
		}
		out[i] = providers.Image{ID: t.Name, Name: t.Description, Size: t.StorageSizeGB * GB,
			Status: "available", State: providers.StateReady, Public: true, Arch: arch, Raw: t}
	}
	return out, nil
}

// GetImage finds a template by name.
func (c *Client) GetImage(ctx context.Context, id string) (providers.Image, error) {
	all, err := c.ListImages(ctx)
	if err != nil {
		return providers.Image{}, err
	}
	for _, im := range all {
		if strings.EqualFold(im.ID, id) {
			return im, nil
		}
	}
	return providers.Image{}, fmt.Errorf("template %s: %w", id, providers.ErrNotFound)
}

// CreateImage is unsupported: templates are read-only here.
func (c *Client) CreateImage(ctx context.Context, spec providers.ImageSpec) (providers.Image, error) {
	return providers.Image{}, &providers.UnsupportedError{Cloud: Name, What: "create images",
		Instead: "the data center's templates"}
}

// DeleteImages is unsupported: templates are read-only here.
func (c *Client) DeleteImages(ctx context.Context, ids ...string) error {
	return &providers.UnsupportedError{Cloud: Name, What: "delete images", Instead: "the data center's templates"}
}

// ImageSource is empty: images are the templates only.
func (c *Client) ImageSource() string { return "" }
