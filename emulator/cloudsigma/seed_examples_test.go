package cloudsigma

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// seedExample is one request example of the CloudSigma API manuals (API
// 1.0: seed 001; API 2.0: seed 004), as the manual prints it: the request
// line, headers and body. Only the host, the credentials and the UUIDs are
// substituted: {auth} is the emulator's Basic credentials, {drive},
// {snap}, ... are resources the test made. The manuals are scanned
// documents; where the scan garbled a character (`[1,` for `[]`, `uyuid`
// for `uuid`, `1limit` for `limit`) the example holds what the manual
// means.
type seedExample struct {
	name string // seed and section
	req  string
	// status is the code the manual gives.
	status int
	// kind says how the answer is compared: "json" (the shape of want:
	// every member, with its JSON type; null in the manual is any type;
	// lists are compared element by element against want's first
	// element), "kv" (API 1.0 key-values with at least the keys of want,
	// space separated, per object), "lines" (one UUID a line), "empty"
	// (no body).
	kind string
	want string
	// header, when set, must start a value of WWW-Authenticate or
	// Set-Cookie of the answer.
	header string
	// skip, when set, says why the emulator cannot answer the example yet.
	skip string
}

// Shapes of the manual's answers.
const (
	seedOwner = `{"resource_uri": "/api/2.0/user/5b4a69a3-8e78-4c45-a8ba-8b13f0895e23/", "uuid": "5b4a69a3-8e78-4c45-a8ba-8b13f0895e23"}`
	seedDrive = `{"affinities": [], "allow_multimount": false, "grantees": [], "jobs": [], "licenses": [], "media": "disk",
		"meta": {}, "mounted_on": [], "name": "test_drive_1", "owner": ` + seedOwner + `, "permissions": [],
		"resource_uri": "/api/2.0/drives/5d3bb6d8-ce39-41e8-8742-2ba5af5ef2d0/",
		"runtime": {"is_snapshotable": true, "snapshots_allocated_size": 0, "storage_type": "dssd"},
		"size": 1073741824, "snapshots": [], "status": "unmounted", "storage_type": "dssd", "tags": [],
		"uuid": "5d3bb6d8-ce39-41e8-8742-2ba5af5ef2d0"}`
	// seedClonedDrive is a drive as a clone answers it: its job listed.
	seedClonedDrive = `{"affinities": [], "allow_multimount": false, "grantees": [],
		"jobs": [{"resource_uri": "/api/2.0/jobs/6c809fa7-f797-4d0f-bbfb-b1b9a737dda/", "uuid": "6c809fa7-f797-4d0f-bbfb-b1b9a737dda"}],
		"licenses": [], "media": "cdrom", "meta": {}, "mounted_on": [], "name": "test_drive_y", "owner": ` + seedOwner + `,
		"permissions": [], "resource_uri": "/api/2.0/drives/842e4c44-75a2-4d81-b812-9bc63d3be11e/",
		"runtime": {"is_snapshotable": null, "snapshots_allocated_size": 0, "storage_type": "dssd"},
		"size": 1073741824, "snapshots": [], "status": "cloning_dst", "storage_type": "dssd", "tags": [],
		"uuid": "842e4c44-75a2-4d81-b812-9bc63d3be11e"}`
	seedDriveListItem = `{"owner": ` + seedOwner + `, "resource_uri": "/api/2.0/drives/3d504199-6bac-4612-a19e-691c9c6c6728/",
		"status": "unmounted", "uuid": "3d504199-6bac-4612-a19e-691c9c6c6728"}`
	seedSnapshot = `{"allocated_size": 0, "drive": {"resource_uri": "/api/2.0/drives/b7cb6615-b6a5-4c31-b755-b86980c64d59/",
		"uuid": "b7cb6615-b6a5-4c31-b755-b86980c64d59"}, "grantees": [], "meta": {},
		"name": "b7cb6615-b6a5-4c31-b755-b86980c64d59__2014-06-05__09_53_28", "owner": ` + seedOwner + `,
		"permissions": [], "resource_uri": "/api/2.0/snapshots/f69d43df-092d-4fef-9766-668cb6469f31/",
		"status": "available", "tags": [], "timestamp": "2014-06-05 09:53:28.851859+00:00",
		"uuid": "f69d43df-092d-4fef-9766-668cb6469f31"}`
	seedLicense = `{"amount": 1, "license": {"burstable": false, "long_name": "SQL Server Standard Edition",
		"name": "msft_7ng_00302", "resource_uri": "/api/2.0/licenses/14/", "type": "instance", "user_metric": "smp"}, "user": null}`
	seedLibDrive = `{"affinities": [], "allow_multimount": false, "arch": "64", "category": ["webserver", "general", "dbserver"],
		"description": "Ubuntu 12.04.4 Server - 64bit Pre-Installed English with VirtIO support", "distribution": "Ubuntu",
		"favourite": false, "image_type": "preinst", "install_notes": "Initial Credentials: \\n Username: cloudsigma \\n Password: cs2014!!!",
		"jobs": [], "licenses": [], "media": "disk", "meta": {}, "mounted_on": [], "name": "Ubuntu 12.04.4 Server",
		"os": "linux", "owner": null, "paid": false, "resource_uri": "/api/2.0/libdrives/d446038b-784d-4ae4-9a4d-46c7b51b4034/",
		"size": 10737418240, "status": "unmounted", "storage_type": null, "tags": [], "url": "",
		"uuid": "d446038b-784d-4ae4-9a4d-46c7b51b4034", "version": "12.04.4"}`
	// seedLibAsDrive is 9.8's library drive read through drives/: the
	// drive shape (licenses left empty: the emulator's images have none).
	seedLibAsDrive = `{"affinities": [], "allow_multimount": false, "grantees": [], "jobs": [], "licenses": [], "media": "disk",
		"meta": {}, "mounted_on": [], "name": "Microsoft SQL Server 2012 Standard Edition with SP1", "owner": null,
		"permissions": [], "resource_uri": "/api/2.0/drives/c7105ec8-5d60-43a7-a11b-18dcf1a4d433/",
		"runtime": {"is_snapshotable": true, "snapshots_allocated_size": 0, "storage_type": "dssd"},
		"size": 64424509440, "snapshots": [], "status": "unmounted", "storage_type": "dssd", "tags": [],
		"uuid": "c7105ec8-5d60-43a7-a11b-18dcf1a4d433"}`
	seedMeta  = `{"limit": 0, "offset": 0, "total_count": 7}`
	seedError = `[{"error_message": "This field is required", "error_point": null, "error_type": "validation"}]`
)

func seedList(item string) string { return `{"meta": ` + seedMeta + `, "objects": [` + item + `]}` }
func seedObjects(item string) string {
	return `{"objects": [` + item + `]}`
}

// seedExamples are the manuals' examples in the order the test runs them:
// each may use what earlier ones made.
var seedExamples = []seedExample{
	// API 2.0, 2.6: HTTP Basic authentication.
	{name: "004 2.6 basic auth", req: "GET /api/2.0/drives/?limit=0 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedDriveListItem)},
	{name: "004 2.12 401 without credentials", req: "GET /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\n\n",
		status: 401, kind: "json", want: seedError},
	{name: "004 2.7 digest challenge", req: "GET /api/2.0/drives/ HTTP/1.1\n\n", status: 401, kind: "json", want: seedError,
		header: "Digest "},
	{name: "004 2.7 digest answer", req: "GET /api/2.0/drives/ HTTP/1.1\nAuthorization: {digest}\n\n", status: 200, kind: "json",
		want: seedList(seedDriveListItem)},
	{name: "004 2.8 session login", req: "POST /api/2.0/accounts/action/?do=login HTTP/1.1\nContent-Type:application/json\n\n" +
		`{"username": "{user}", "password":"{password}"}`, status: 200, kind: "json", want: `{"uuid": "5b4a69a3-8e78-4c45-a8ba-8b13f0895e23"}`,
		header: "csrftoken="},
	// 2.9 and 2.12: content types.
	{name: "004 2.9 xml and json: json", req: "GET /api/2.0/drives/?limit=0 HTTP/1.1\nAccept: application/xml, application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedDriveListItem)},
	{name: "004 2.12 406", req: "GET /api/2.0/drives/ HTTP/1.1\nAccept: text/html\nAuthorization: Basic {auth}\n\n",
		status: 406, kind: "json", want: seedError},
	{name: "004 2.11 OPTIONS", req: "OPTIONS /api/2.0/drives/ HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "text"},

	// 5: capabilities.
	{name: "004 5 capabilities", req: "GET /api/2.0/capabilities/?limit=0 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: `{"drives": {"dssd": {"max_size": 4391067795456, "min_size": 536870912},
		"zadara": {"max_size": 5905580032000, "min_size": 1073741824}},
		"servers": {"cpu": {"max": 40000, "min": 250}, "cpu_per_smp": {"max": 2500, "min": 1000},
		"mem": {"max": 68719476736, "min": 268435456}, "smp": {"max": 24, "min": 1}},
		"snapshots": {"current": 0, "max": 600}}`},

	// 7: drives.
	{name: "004 7.5 create a drive", req: "POST /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"media": "disk", "name": "test_drive_0", "size": 1073741824}`, status: 201, kind: "json", want: seedObjects(seedDrive)},
	{name: "004 7.5 create multiple drives", req: "POST /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"objects": [{"media": "disk", "name": "test_drive_0", "size": 1073741824}, {"media": "disk", "name": "test_drive_1", "size": 1073741824},
		{"media": "disk", "name": "test_drive_2", "size": 1073741824}, {"media": "disk", "name": "test_drive_3", "size": 1073741824},
		{"media": "disk", "name": "test_drive_4", "size": 1073741824}]}`, status: 201, kind: "json", want: seedObjects(seedDrive)},
	{name: "004 7.5 create a bare list", req: "POST /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`[{"media": "disk", "name": "test_drive_0", "size": 1073741824}, {"media": "disk", "name": "test_drive_1", "size": 1073741824},
		{"media": "disk", "name": "test_drive_2", "size": 1073741824}, {"media": "disk", "name": "test_drive_3", "size": 1073741824},
		{"media": "disk", "name": "test_drive_4", "size": 1073741824}]`, status: 201, kind: "json", want: seedObjects(seedDrive)},
	{name: "004 7.2 list", req: "GET /api/2.0/drives/?limit=0 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedDriveListItem)},
	{name: "004 7.2 list uuid and status", req: "GET /api/2.0/drives/?fields=uuid,status&limit=0 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(`{"status": "unmounted", "uuid": "3d504199-6bac-4612-a19e-691c9c6c6728"}`)},
	{name: "004 7.3 detailed list", req: "GET /api/2.0/drives/detail/?limit=0 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedDrive)},
	{name: "004 7.4 single drive", req: "GET /api/2.0/drives/{drive}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedDrive},
	{name: "004 7.6 edit", req: "PUT /api/2.0/drives/{drive}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"media": "cdrom", "name": "test_drive_y", "size": 1073741824}`, status: 200, kind: "json", want: seedDrive},
	{name: "004 7.7 resize", req: "POST /api/2.0/drives/{drive}/action/?do=resize HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"affinities": [], "allow_multimount": false, "grantees": [], "jobs": [], "licenses": [], "media": "disk", "meta": {},
		"mounted_on": [], "name": "test_drive_1", "owner": ` + seedOwner + `, "permissions": [],
		"resource_uri": "/api/2.0/drives/{drive}/", "runtime": {"is_snapshotable": null, "snapshots_allocated_size": 0, "storage_type": "dssd"},
		"size": 4294967296, "snapshots": [], "status": "creating", "storage_type": "dssd", "tags": [], "uuid": "{drive}"}`,
		status: 202, kind: "json", want: seedObjects(seedDrive)},
	{name: "004 7.10 clone", req: "POST /api/2.0/drives/{drive}/action/?do=clone HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"affinities": [], "media": "cdrom", "name": "test_drive_y", "storage_type": "dssd"}`,
		status: 202, kind: "json", want: seedObjects(seedClonedDrive)},
	{name: "004 6.1 clone with the profile's naming", req: "POST /api/2.0/drives/{drive}/action/?do=clone HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"affinities": [], "media": "cdrom", "storage_type": "dssd"}`, status: 202, kind: "json", want: seedObjects(seedClonedDrive)},
	{name: "004 7.14.2 clone to the same storage type", req: "POST /api/2.0/drives/{drive}/action/?do=clone HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n{}",
		status: 202, kind: "json", want: seedObjects(seedClonedDrive)},
	{name: "004 7.14.1 create on zadara", req: "POST /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"objects": [{"media": "disk", "name": "test_zadara_drive", "size": 1073741824, "storage_type": "zadara"}]}`,
		status: 201, kind: "json", want: seedObjects(seedDrive)},
	{name: "004 7.14.3 clone to another storage type", req: "POST /api/2.0/drives/{drive}/action/?do=clone HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"storage_type": "zadara"}`, status: 202, kind: "json", want: seedObjects(seedClonedDrive)},
	{name: "004 jobs: a clone's job", req: "GET /api/2.0/jobs/{job}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: `{"resource_uri": "/api/2.0/jobs/6c809fa7-f797-4d0f-bbfb-b1b9a737dda/", "uuid": "6c809fa7-f797-4d0f-bbfb-b1b9a737dda"}`},

	// 8: snapshots.
	{name: "004 8.5 create", req: "POST /api/2.0/snapshots/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"drive": "{drive}", "meta": {"key": "val"}, "name": "first_snapshot"}`, status: 201, kind: "json", want: seedObjects(seedSnapshot)},
	{name: "004 8.2 list", req: "GET /api/2.0/snapshots/?limit=0 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedSnapshot)},
	{name: "004 8.3 detailed list", req: "GET /api/2.0/snapshots/detail/?limit=0 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedSnapshot)},
	{name: "004 8.4 single snapshot", req: "GET /api/2.0/snapshots/{snap}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedSnapshot},
	{name: "004 8.6 edit", req: "PUT /api/2.0/snapshots/{snap}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"drive": "{drive}", "meta": {"key": "val_changed", "new_key": "new_key_value"}, "name": "first_snapshot_renamed"}`,
		status: 200, kind: "json", want: seedSnapshot},
	{name: "004 8.9 clone", req: "POST /api/2.0/snapshots/{snap}/action/?do=clone&avoid={drive} HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n{}",
		status: 202, kind: "json", want: seedDrive},
	{name: "004 8.10.1 snapshots of a drive", req: "GET /api/2.0/snapshots/detail/?limit=0&drive={drive} HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedSnapshot)},
	{name: "004 8.10.2 snapshots in the drive", req: "GET /api/2.0/drives/{drive}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: `{"snapshots": [{"resource_uri": "/api/2.0/snapshots/f69d43df-092d-4fef-9766-668cb6469f31/", "uuid": "f69d43df-092d-4fef-9766-668cb6469f31"}]}`},
	{name: "004 8.8.1 delete", req: "DELETE /api/2.0/snapshots/{snap}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 204, kind: "empty"},
	{name: "004 8.8.2 delete several", req: "DELETE /api/2.0/snapshots/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"objects": [{"uuid": "{snap2}"}, {"uuid": "{snap3}"}]}`, status: 204, kind: "empty"},

	// 9: library drives.
	{name: "004 9.2 list", req: "GET /api/2.0/libdrives/?limit=5 HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedLibDrive)},
	{name: "004 9.3 detailed list", req: "GET /api/2.0/libdrives/detail/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedList(seedLibDrive)},
	{name: "004 9.4 single library drive", req: "GET /api/2.0/libdrives/{lib}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedLibDrive},
	{name: "004 9.4 licenses shape", req: "GET /api/2.0/libdrives/{libpaid}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: `{"licenses": [` + seedLicense + `], "paid": true, "image_type": "preinst"}`},
	{name: "004 9.4 licenses through drives/", req: "GET /api/2.0/drives/{libpaid}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: `{"licenses": [` + seedLicense + `]}`},
	{name: "004 9.2 install CD", req: "GET /api/2.0/libdrives/?media=cdrom HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: `{"objects": [{"media": "cdrom", "image_type": "install", "licenses": []}]}`},
	{name: "004 9.8 library drive through drives/", req: "GET /api/2.0/drives/{lib}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 200, kind: "json", want: seedLibAsDrive},
	{name: "004 9.6 clone", req: "POST /api/2.0/libdrives/{lib}/action/?do=clone HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n{}",
		status: 202, kind: "json", want: seedObjects(seedClonedDrive)},

	// Schemas.
	{name: "004 7.16 drive schema", req: "GET /api/2.0/drives/schema/ HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "json",
		want: `{"allowed_detail_http_methods": ["get"], "allowed_list_http_methods": ["get"], "default_format": "application/json",
		"default_limit": 20, "fields": {"media": {"choices": ["cdrom", "disk"], "default": null, "help_text": "Media representation type",
		"readonly": false, "required": true, "type": "string"}}, "filtering": {"name": "exact"}}`},
	{name: "004 8.11 snapshot schema", req: "GET /api/2.0/snapshots/schema/ HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "json",
		want: `{"allowed_detail_http_methods": ["get"], "allowed_list_http_methods": ["get"], "default_format": "application/json",
		"default_limit": 20, "fields": {"allocated_size": {"default": "No default provided.", "help_text": "Physical size of the snapshot",
		"readonly": true, "required": true, "type": "integer"}}, "filtering": {"uuid": "exact"}}`},
	{name: "004 9.9 library drive schema", req: "GET /api/2.0/libdrives/schema/ HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "json",
		want: `{"allowed_detail_http_methods": ["get"], "allowed_list_http_methods": ["get"], "default_format": "application/json",
		"default_limit": 20, "fields": {"favourite": {"default": null, "help_text": "Favourite drive image for user.",
		"readonly": false, "required": true, "type": "boolean"}}, "filtering": {"category": "exact"}}`},

	// Errors: 4.1's format on 2.12's codes.
	{name: "004 4.3 validation error", req: "POST /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"media": "disk", "name": "no size"}`, status: 400, kind: "json", want: seedError},
	{name: "004 2.12 400 not JSON", req: "POST /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n{\"name\": ",
		status: 400, kind: "json", want: seedError},
	{name: "004 2.12 405", req: "DELETE /api/2.0/libdrives/{lib}/ HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 405, kind: "json", want: seedError},

	// 7.9: deletes, last.
	{name: "004 7.9.1 delete", req: "DELETE /api/2.0/drives/{drive2}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 204, kind: "empty"},
	{name: "004 2.12 404", req: "GET /api/2.0/drives/{drive2}/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n",
		status: 404, kind: "json", want: seedError},
	{name: "004 7.9.2 delete several", req: "DELETE /api/2.0/drives/ HTTP/1.1\nContent-Type: application/json\nAuthorization: Basic {auth}\n\n" +
		`{"objects": [{"uuid": "{drive3}"}, {"uuid": "{drive4}"}]}`, status: 204, kind: "empty"},

	// API 1.0 (seed 001).
	{name: "001 3 no credentials", req: "GET /drives/list HTTP/1.1\n\n", status: 401, kind: "text"},
	{name: "001 7.1 create", req: "POST /drives/create HTTP/1.1\nAuthorization: Basic {auth}\n\nname TEST_DRIVE\nsize 4194304\n",
		status: 200, kind: "kv", want: "status user size name drive"},
	{name: "001 2 command-line create", req: "POST /drives/create HTTP/1.1\nAuthorization: Basic {auth}\n\nname Test\nsize 12582912\n",
		status: 200, kind: "kv", want: "status user size name drive"},
	{name: "001 7.6 info", req: "GET /drives/{drive}/info HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "kv",
		want: "status user size name drive"},
	{name: "001 2 command-line info", req: "GET /drives/{drive}/info HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "kv",
		want: "status name read:bytes user drive write:bytes read:requests type write:requests size"},
	{name: "001 7.7 all drives info", req: "GET /drives/info HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "kv",
		want: "status user size name drive"},
	{name: "001 2 list", req: "GET /drives/list HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "lines"},
	{name: "001 7.8 standard CDs", req: "GET /drives/standard/cd/list HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "lines"},
	{name: "001 7.9 standard images", req: "GET /drives/standard/img/list HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "lines"},
	{name: "001 7.10 all standard drives", req: "GET /drives/standard/list HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 200, kind: "lines"},
	{name: "001 5 404", req: "GET /drives/{drive2}/info HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 404, kind: "text"},
	{name: "001 5 405", req: "GET /drives/create HTTP/1.1\nAuthorization: Basic {auth}\n\n", status: 405, kind: "text"},
	{name: "001 7.5 destroy", req: "POST /drives/{drive5}/destroy HTTP/1.1\nAuthorization: Basic {auth}\nContent-Length: 0\n\n", status: 204, kind: "empty"},
}

// TestSeedExamples sends every example of seedExamples, verbatim but for
// host, credentials and UUIDs, and checks the status and the shape of the
// answer against the manual's.
func TestSeedExamples(t *testing.T) {
	// The examples use both storage types of the manual's capabilities.
	s := startServer(t, Config{StorageTypes: "dssd,zadara"})
	c := &v2Client{t: t, srv: s, base: s.URL() + "api/2.0/"}
	mk := func(name string) string {
		b := c.want("POST", "drives/", map[string]any{"name": name, "size": 1 << 30, "media": "disk"}, 201)
		return v2Decode[wire.List[wire.Drive]](t, b).Objects[0].UUID
	}
	vars := map[string]string{
		"auth":     base64.StdEncoding.EncodeToString([]byte(DefaultUser + ":" + DefaultPassword)),
		"user":     DefaultUser,
		"password": DefaultPassword,
		"drive":    mk("test_drive_1"),
		"drive2":   mk("test_drive_2"),
		"drive3":   mk("test_drive_3"),
		"drive4":   mk("test_drive_4"),
		"drive5":   mk("test_drive_5"),
		"lib":      libDriveDefs[1].UUID,
		"libpaid":  libDriveDefs[3].UUID,
	}
	snap := func() string {
		b := c.want("POST", "snapshots/", map[string]any{"drive": vars["drive"]}, 201)
		return v2Decode[wire.List[wire.Snapshot]](t, b).Objects[0].UUID
	}
	vars["snap"], vars["snap2"], vars["snap3"] = snap(), snap(), snap()
	cl := v2Decode[wire.List[wire.Drive]](t, c.want("POST", "drives/"+vars["drive"]+"/action/?do=clone", "", 202))
	vars["job"] = cl.Objects[0].Jobs[0].UUID

	for _, ex := range seedExamples {
		t.Run(ex.name, func(t *testing.T) {
			if ex.skip != "" {
				t.Skip(ex.skip)
			}
			raw := ex.req
			for k, v := range vars {
				raw = strings.ReplaceAll(raw, "{"+k+"}", v)
			}
			if strings.Contains(raw, "{digest}") {
				r, _ := sendRaw(t, s.URL(), "GET /api/2.0/drives/ HTTP/1.1\n\n")
				nonce, _ := challengeNonce(t, r.Header.Values("WWW-Authenticate"))
				raw = strings.ReplaceAll(raw, "{digest}", digestAnswer(DefaultUser, DefaultPassword, "GET", "/api/2.0/drives/", nonce, "auth"))
			}
			resp, body := sendRaw(t, s.URL(), raw)
			if resp.StatusCode != ex.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, ex.status, firstBytes(body))
			}
			if ex.header != "" && !slices.ContainsFunc(append(resp.Header.Values("WWW-Authenticate"), resp.Header.Values("Set-Cookie")...),
				func(v string) bool { return strings.HasPrefix(v, ex.header) }) {
				t.Fatalf("no WWW-Authenticate or Set-Cookie starting %q in %v", ex.header, resp.Header)
			}
			switch ex.kind {
			case "json":
				var want, got any
				if err := json.Unmarshal([]byte(ex.want), &want); err != nil {
					t.Fatalf("the example's answer: %v", err)
				}
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("answer is not JSON: %v: %s", err, firstBytes(body))
				}
				if diffs := shapeDiff("", want, got); len(diffs) > 0 {
					t.Fatalf("answer differs from the manual's shape:\n%s\nanswer: %s", strings.Join(diffs, "\n"), firstBytes(body))
				}
			case "kv":
				objs, err := wire.DecodeKVList(bytes.NewReader(body))
				if err != nil || len(objs) == 0 {
					t.Fatalf("answer is not key-values (%v): %q", err, body)
				}
				for _, o := range objs {
					for _, k := range strings.Fields(ex.want) {
						if _, ok := o.Get(k); !ok {
							t.Fatalf("key %s missing from %q", k, o.String())
						}
					}
				}
			case "lines":
				for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
					if l != "" && !looksLikeUUID(l) {
						t.Fatalf("line %q is not a UUID", l)
					}
				}
			case "empty":
				if len(body) != 0 {
					t.Fatalf("body %q, want none", body)
				}
			case "text":
				if len(body) == 0 {
					t.Fatal("no body")
				}
			}
		})
	}
}

// sendRaw sends a request written as the manuals print it: request line,
// headers, a blank line, the body. Content-Length is the body's.
func sendRaw(t *testing.T, base, raw string) (*http.Response, []byte) {
	t.Helper()
	head, body, _ := strings.Cut(raw, "\n\n")
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n")))
	if err != nil {
		t.Fatalf("the example's request: %v", err)
	}
	out, err := http.NewRequest(req.Method, strings.TrimSuffix(base, "/")+req.RequestURI, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.Header {
		if k != "Content-Length" {
			out.Header[k] = v
		}
	}
	out.Header.Set("Accept-Encoding", "identity")
	resp, err := noRedirectAuth.Do(out)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// shapeDiff compares got with the shape of want: objects must have every
// member of want (an empty object in want, like `meta`, is any object),
// with the same JSON type; every element of a list has the shape of want's
// first element; null in want is any type.
func shapeDiff(path string, want, got any) []string {
	if want == nil {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want an object", orRoot(path), jsonType(got))}
		}
		var out []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, shapeDiff(path+"."+k, w[k], gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want a list", orRoot(path), jsonType(got))}
		}
		if len(w) == 0 {
			return nil
		}
		var out []string
		for i, e := range g {
			out = append(out, shapeDiff(fmt.Sprintf("%s[%d]", path, i), w[0], e)...)
		}
		return out
	}
	if jsonType(want) != jsonType(got) {
		return []string{fmt.Sprintf("%s: %s, want %s", orRoot(path), jsonType(got), jsonType(want))}
	}
	return nil
}

func orRoot(path string) string {
	if path == "" {
		return "(answer)"
	}
	return path
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
