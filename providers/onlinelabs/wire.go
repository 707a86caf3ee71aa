package onlinelabs

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The API's objects, as far as the provider reads them. The objects
// themselves are kept as sent (Raw) for --json.

type refWire struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type volumeWire struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Organization string   `json:"organization"`
	Server       *refWire `json:"server"`
	Size         int64    `json:"size"`
	VolumeType   string   `json:"volume_type"`
}

type serverWire struct {
	ID           string                `json:"id"`
	Name         string                `json:"name"`
	Organization string                `json:"organization"`
	State        string                `json:"state"`
	StateDetail  string                `json:"state_detail"`
	Image        refWire               `json:"image"`
	Tags         []string              `json:"tags"`
	Volumes      map[string]volumeWire `json:"volumes"`
}

type snapshotWire struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	BaseVolume   refWire `json:"base_volume"`
	CreationDate string  `json:"creation_date"`
	Size         int64   `json:"size"`
	State        string  `json:"state"`
	VolumeType   string  `json:"volume_type"`
}

type imageWire struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Arch       string  `json:"arch"`
	Public     bool    `json:"public"`
	RootVolume refWire `json:"root_volume"`
}

type taskWire struct {
	ID          string          `json:"id"`
	Description string          `json:"description"`
	HrefFrom    string          `json:"href_from"`
	Progress    json.RawMessage `json:"progress"`
	Status      string          `json:"status"`
}

// progress reads a task's progress, which the API sends as a number in a
// string ("0"); a number is accepted too. -1 when it says nothing usable.
func (t taskWire) progress() int {
	s := strings.Trim(string(t.Progress), `"`)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return int(min(max(n, 0), 100))
}

// decodeEach decodes every raw object into a T.
func decodeEach[T any](raws []json.RawMessage) ([]T, error) {
	out := make([]T, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
