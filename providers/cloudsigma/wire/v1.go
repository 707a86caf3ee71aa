package wire

// API 1.0 keys of a drive object (`GET /drives/UUID/info`).
const (
	V1KeyDrive  = "drive"
	V1KeyName   = "name"
	V1KeySize   = "size"
	V1KeyStatus = "status"
	V1KeyType   = "type"
	V1KeyUser   = "user"
)

// V1MaxRead is the largest SIZE API 1.0 accepts in one read request.
const V1MaxRead = 4 << 20

// V1ErrorKey prefixes API 1.0 error lines: `errors:FIELD message`.
const V1ErrorKey = "errors"
