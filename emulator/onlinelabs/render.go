package onlinelabs

import "time"

// The JSON objects the API answers with, field for field as the Online Labs API guide and
// the API documentation show them (null fields are pointers or any).

type ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type volumeJSON struct {
	ExportURI    *string `json:"export_uri"`
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Organization string  `json:"organization"`
	Server       *ref    `json:"server"`
	Size         int64   `json:"size"`
	VolumeType   string  `json:"volume_type"`
}

type serverJSON struct {
	DynamicPublicIP bool                  `json:"dynamic_public_ip"`
	ID              string                `json:"id"`
	Image           ref                   `json:"image"`
	Name            string                `json:"name"`
	Organization    string                `json:"organization"`
	PrivateIP       *string               `json:"private_ip"`
	PublicIP        *string               `json:"public_ip"`
	State           string                `json:"state"`
	StateDetail     string                `json:"state_detail"`
	Tags            []string              `json:"tags"`
	Volumes         map[string]volumeJSON `json:"volumes"`
}

type imageJSON struct {
	Arch             string  `json:"arch"`
	CreationDate     string  `json:"creation_date"`
	ExtraVolumes     string  `json:"extra_volumes"` // the API sends a JSON list as a string
	FromImage        *string `json:"from_image"`
	FromServer       *string `json:"from_server"`
	ID               string  `json:"id"`
	MarketplaceKey   *string `json:"marketplace_key"`
	ModificationDate string  `json:"modification_date"`
	Name             string  `json:"name"`
	Organization     string  `json:"organization"`
	Public           bool    `json:"public"`
	RootVolume       ref     `json:"root_volume"`
}

type snapshotJSON struct {
	BaseVolume   ref    `json:"base_volume"`
	CreationDate string `json:"creation_date"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Organization string `json:"organization"`
	Size         int64  `json:"size"`
	State        string `json:"state"`
	VolumeType   string `json:"volume_type"`
}

type taskJSON struct {
	Description  string  `json:"description"`
	HrefFrom     string  `json:"href_from"`
	ID           string  `json:"id"`
	Progress     string  `json:"progress"` // a number in a string, as the seed shows
	StartedAt    string  `json:"started_at"`
	Status       string  `json:"status"`
	TerminatedAt *string `json:"terminated_at"`
}

// stamp renders t as the API does: microseconds and a +00:00 offset.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func (st *store) volumeJSON(v *volume) volumeJSON {
	j := volumeJSON{ID: v.id, Name: v.name, Organization: v.org, Size: v.size, VolumeType: v.volumeType}
	if s, ok := st.servers[v.server]; ok {
		j.Server = &ref{ID: s.id, Name: s.name}
	}
	return j
}

func (st *store) serverJSON(s *server) serverJSON {
	j := serverJSON{DynamicPublicIP: s.dynamicIP, ID: s.id, Image: ref{ID: s.image, Name: s.imageName}, Name: s.name,
		Organization: s.org, State: s.state, Tags: append([]string{}, s.tags...), Volumes: map[string]volumeJSON{}}
	for slot, id := range s.volumes {
		if v, ok := st.volumes[id]; ok {
			j.Volumes[slot] = st.volumeJSON(v)
		}
	}
	return j
}

func imageToJSON(im *image) imageJSON {
	return imageJSON{Arch: im.arch, CreationDate: stamp(im.created), ExtraVolumes: "[]", ID: im.id,
		ModificationDate: stamp(im.created), Name: im.name, Organization: im.org, Public: im.public,
		RootVolume: ref{ID: im.root, Name: im.rootName}}
}

func snapshotToJSON(sn *snapshot) snapshotJSON {
	return snapshotJSON{BaseVolume: ref{ID: sn.base, Name: sn.baseName}, CreationDate: stamp(sn.created), ID: sn.id,
		Name: sn.name, Organization: sn.org, Size: sn.size, State: sn.state, VolumeType: sn.volumeType}
}

func taskToJSON(t *task) taskJSON {
	j := taskJSON{Description: t.description, HrefFrom: t.hrefFrom, ID: t.id, Progress: itoa(t.progress),
		StartedAt: stamp(t.started), Status: t.status}
	if t.status == "success" {
		s := stamp(t.terminated)
		j.TerminatedAt = &s
	}
	return j
}
