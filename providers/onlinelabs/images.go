package onlinelabs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/drivecp/drivecp/providers"
)

// DefaultArch is the architecture of a new image when none is given: the
// ARM of Online Labs' C1 servers.
const DefaultArch = "arm"

// StatusImageAvailable is the status word of every image: the API gives
// images no state, and an image exists only once made.
const StatusImageAvailable = "available"

func imageOf(raw json.RawMessage, im imageWire) providers.Image {
	return providers.Image{ID: im.ID, Name: im.Name, Status: StatusImageAvailable, State: providers.StateReady,
		Source: im.RootVolume.ID, Public: im.Public, Arch: im.Arch, Raw: raw}
}

// ListImages lists the organization's images and the public ones, every
// page.
func (c *Client) ListImages(ctx context.Context) ([]providers.Image, error) {
	raws, err := c.listAll(ctx, "list images", "/images", "images")
	if err != nil {
		return nil, err
	}
	ims, err := decodeEach[imageWire](raws)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]providers.Image, len(ims))
	for i, im := range ims {
		out[i] = imageOf(raws[i], im)
	}
	return out, nil
}

func (c *Client) image(ctx context.Context, op, method, path string, in any) (providers.Image, error) {
	raw, err := c.object(ctx, op, method, path, "image", in)
	if err != nil {
		return providers.Image{}, err
	}
	var im imageWire
	if err := json.Unmarshal(raw, &im); err != nil {
		return providers.Image{}, fmt.Errorf("%s: %w", op, err)
	}
	return imageOf(raw, im), nil
}

// GetImage returns an image.
func (c *Client) GetImage(ctx context.Context, id string) (providers.Image, error) {
	return c.image(ctx, "get image "+id, http.MethodGet, "/images/"+escape(id), nil)
}

// CreateImage makes an image whose root volume is the snapshot
// spec.From, for the ARM architecture unless spec.Meta["arch"] says
// otherwise (images keep no other metadata).
func (c *Client) CreateImage(ctx context.Context, spec providers.ImageSpec) (providers.Image, error) {
	arch := DefaultArch
	for k, v := range spec.Meta {
		if k != "arch" {
			return providers.Image{}, &providers.UnsupportedError{Cloud: Name, What: "keep metadata on images",
				Instead: "an image's name and architecture (arch)"}
		}
		arch = v
	}
	if spec.Name == "" || spec.From == "" {
		return providers.Image{}, fmt.Errorf("%w: an image needs a name and the snapshot it is made of", providers.ErrInvalid)
	}
	body := map[string]any{"organization": c.org, "name": spec.Name, "arch": arch, "root_volume": spec.From}
	return c.image(ctx, "create image", http.MethodPost, "/images", body)
}

// DeleteImages deletes the images one by one, stopping at the first
// failure.
func (c *Client) DeleteImages(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if _, err := c.do(ctx, "delete image "+id, http.MethodDelete, "/images/"+escape(id), nil, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// ImageSource says that images are made of snapshots.
func (c *Client) ImageSource() string { return "snapshot" }
