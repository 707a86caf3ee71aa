package e24cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/drivecp/drivecp/providers"
)

// Disk image state words (assumed, like the volumes').
const (
	ImageCreating  = "creating"
	ImageAvailable = "available"
	ImageDeleting  = "deleting"
	ImageError     = "error"
)

// ImageWire is a disk image as the API sends it.
type ImageWire struct {
	ID            flexID `json:"id"`
	Name          string `json:"name"`
	Size          int64  `json:"size"`
	State         string `json:"state"`
	StorageVolume flexID `json:"storage_volume_id"`
	Public        bool   `json:"public"`
}

func imageState(word string) providers.State {
	switch word {
	case ImageAvailable:
		return providers.StateReady
	case ImageCreating:
		return providers.StateBusy
	case ImageDeleting:
		return providers.StateGone
	case ImageError:
		return providers.StateFailed
	}
	return providers.StateUnknown
}

func imageOf(raw json.RawMessage) (providers.Image, error) {
	var w ImageWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return providers.Image{}, err
	}
	return providers.Image{ID: string(w.ID), Name: w.Name, Size: w.Size * SizeUnit, Status: w.State,
		State: imageState(w.State), Source: string(w.StorageVolume), Public: w.Public, Raw: raw}, nil
}

// ListImages lists every disk image (the API answers them all at once).
func (c *Client) ListImages(ctx context.Context) ([]providers.Image, error) {
	var body struct {
		Images []json.RawMessage `json:"disk_images"`
	}
	if err := c.do(ctx, "list disk images", http.MethodGet, "/disk-images", nil, &body); err != nil {
		return nil, err
	}
	out := make([]providers.Image, 0, len(body.Images))
	for _, raw := range body.Images {
		img, err := imageOf(raw)
		if err != nil {
			return nil, fmt.Errorf("list disk images: %w", err)
		}
		out = append(out, img)
	}
	return out, nil
}

// GetImage returns one disk image.
func (c *Client) GetImage(ctx context.Context, id string) (providers.Image, error) {
	var body struct {
		Image json.RawMessage `json:"disk_image"`
	}
	if err := c.do(ctx, "get disk image "+id, http.MethodGet, "/disk-images/"+escape(id), nil, &body); err != nil {
		return providers.Image{}, err
	}
	img, err := imageOf(body.Image)
	if err != nil {
		return providers.Image{}, fmt.Errorf("get disk image %s: %w", id, err)
	}
	return img, nil
}

// CreateImage adds a task making a disk image of the storage volume
// spec.From and returns the image as it is then (usually creating).
func (c *Client) CreateImage(ctx context.Context, spec providers.ImageSpec) (providers.Image, error) {
	if spec.From == "" {
		return providers.Image{}, fmt.Errorf("%w: a disk image is made from a storage volume: name one", providers.ErrInvalid)
	}
	in := map[string]any{"create_disk_image": map[string]any{"name": spec.Name, "storage_volume_id": spec.From}}
	var body struct {
		Image struct {
			ID flexID `json:"id"`
		} `json:"disk_image"`
	}
	if err := c.do(ctx, "create disk image", http.MethodPut, "/disk-images", in, &body); err != nil {
		return providers.Image{}, err
	}
	return c.GetImage(ctx, string(body.Image.ID))
}

// DeleteImages deletes each image in turn.
func (c *Client) DeleteImages(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if err := c.do(ctx, "delete disk image "+id, http.MethodDelete, "/disk-images/"+escape(id), nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// ImageSource says that disk images are made from storage volumes.
func (c *Client) ImageSource() string { return "drive" }
