package centurylink

// The JSON shapes of CenturyLink Cloud API v2 that the client reads and
// sends (the CenturyLink API walkthrough and the API documentation).

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	UserName      string `json:"userName"`
	AccountAlias  string `json:"accountAlias"`
	LocationAlias string `json:"locationAlias"`
	BearerToken   string `json:"bearerToken"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// statusLink is how a change answers: the operation that carries it out.
type statusLink = link

type apiErrorBody struct {
	Message    string              `json:"message"`
	ModelState map[string][]string `json:"modelState"`
}

type dataCenter struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Links []link `json:"links"`
}

type group struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Groups []group `json:"groups"`
	Links  []link  `json:"links"`
}

type capabilities struct {
	Templates []templateJSON `json:"templates"`
}

type templateJSON struct {
	Name               string   `json:"name"`
	OSType             string   `json:"osType"`
	Description        string   `json:"description"`
	StorageSizeGB      int64    `json:"storageSizeGB"`
	Capabilities       []string `json:"capabilities"`
	ReservedDrivePaths []string `json:"reservedDrivePaths"`
}

type diskJSON struct {
	ID             string   `json:"id"`
	SizeGB         int64    `json:"sizeGB"`
	PartitionPaths []string `json:"partitionPaths"`
}

type snapshotJSON struct {
	Name  string `json:"name"`
	Links []link `json:"links"`
}

type serverJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	GroupID     string `json:"groupId"`
	LocationID  string `json:"locationId"`
	OSType      string `json:"osType"`
	OS          string `json:"os"`
	Status      string `json:"status"`
	Details     *struct {
		PowerState string         `json:"powerState"`
		StorageGB  int64          `json:"storageGB"`
		Disks      []diskJSON     `json:"disks"`
		Snapshots  []snapshotJSON `json:"snapshots"`
	} `json:"details"`
	Type        string `json:"type"`
	StorageType string `json:"storageType"`
}

// patch is one change of a PATCH of a server.
type patch struct {
	Op     string `json:"op"`
	Member string `json:"member"`
	Value  any    `json:"value"`
}

// diskSpec is one disk of the whole disk list a PATCH of "disks" sets:
// existing disks by diskId, new ones without.
type diskSpec struct {
	DiskID string `json:"diskId,omitempty"`
	SizeGB int64  `json:"sizeGB"`
	Type   string `json:"type,omitempty"`
	Path   string `json:"path,omitempty"`
}

// queued is one server's item in the answer to a server operation.
type queued struct {
	Server       string `json:"server"`
	IsQueued     bool   `json:"isQueued"`
	Links        []link `json:"links"`
	ErrorMessage string `json:"errorMessage"`
}

type snapshotRequest struct {
	SnapshotExpirationDays int      `json:"snapshotExpirationDays"`
	ServerIDs              []string `json:"serverIds"`
}

type operationStatus struct {
	Status string `json:"status"`
}
