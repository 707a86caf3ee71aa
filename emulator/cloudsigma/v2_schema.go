package cloudsigma

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// noDefault is the `default` the API's schemas give a member that has
// none.
const noDefault = "No default provided."

// schemaField describes one member of a resource in a schema answer: its
// type (string, integer, boolean, list, dict, related), default, whether a
// request must give it and may change it, the values it may take and, for
// nested objects, their members.
type schemaField struct {
	Choices  []string               `json:"choices,omitempty"`
	Default  any                    `json:"default"`
	Fields   map[string]schemaField `json:"fields,omitempty"`
	HelpText string                 `json:"help_text"`
	Readonly bool                   `json:"readonly"`
	Required bool                   `json:"required"`
	Type     string                 `json:"type"`
}

// schema is the answer of `GET {resource}/schema/`: the methods of the
// list and detail URLs, the default format and page size, the members and
// the filters (each "exact").
type schema struct {
	AllowedDetail []string               `json:"allowed_detail_http_methods"`
	AllowedList   []string               `json:"allowed_list_http_methods"`
	DefaultFormat string                 `json:"default_format"`
	DefaultLimit  int                    `json:"default_limit"`
	Fields        map[string]schemaField `json:"fields"`
	Filtering     map[string]string      `json:"filtering"`
}

func field(typ, help string, def any, readonly, required bool) schemaField {
	return schemaField{Type: typ, HelpText: help, Default: def, Readonly: readonly, Required: required}
}

func withChoices(f schemaField, choices ...string) schemaField {
	f.Choices = choices
	return f
}

func withFields(f schemaField, fields map[string]schemaField) schemaField {
	f.Fields = fields
	return f
}

const (
	helpList    = "A list of data. Ex: ['abc', 26.73, 8]"
	helpURI     = "Unicode string data. Ex: \"Hello World\""
	helpTags    = "Many related resources. Can be either a list of URIs or list of individually nested resource data."
	helpJobs    = "Background jobs related to this resource"
	helpMounted = "Servers on which this drive is mounted on"
)

// licensesField is the `licenses` member drives and library drives share.
func licensesField() schemaField {
	return withFields(field("related", "A list of licenses attached to this drive", []any{}, false, false), map[string]schemaField{
		"amount":  field("integer", "Number of licenses", 1, false, false),
		"license": field("related", "A single related resource. Can be either a URI or set of nested resource data.", noDefault, false, true),
		"user":    field("related", "Owner of the license", nil, false, false),
	})
}

// driveSchemaFields are the members of a drive, as the API 2.0 manual's
// drive schema lists them.
func driveSchemaFields() map[string]schemaField {
	return map[string]schemaField{
		"affinities":       withChoices(field("list", "A list of affinities this drive should belong to", []any{}, false, false), "ssd"),
		"allow_multimount": field("boolean", "Allow the drive to be mounted on multiple guests. Not taken into account when the drive is mounted on a single guest.", false, false, false),
		"grantees":         field("list", helpList, noDefault, false, false),
		"jobs":             field("related", helpJobs, noDefault, true, true),
		"licenses":         licensesField(),
		"media":            withChoices(field("string", "Media representation type", nil, false, true), "cdrom", "disk"),
		"meta":             field("dict", "User defined meta information", map[string]any{}, false, false),
		"mounted_on":       field("related", helpMounted, noDefault, true, false),
		"name":             field("string", "Human readable name of the drive", nil, false, true),
		"owner":            field("related", "Owner of the drive", nil, true, false),
		"permissions":      field("list", helpList, noDefault, false, false),
		"resource_uri":     field("string", helpURI, noDefault, true, true),
		"runtime": withFields(field("related", "Runtime information of the drive", noDefault, true, false), map[string]schemaField{
			"is_snapshotable":          field("boolean", "Specifies if the drive supports snapshotting", noDefault, true, true),
			"snapshots_allocated_size": field("integer", "Sum of the allocated size of this drive's snapshots", noDefault, true, false),
			"storage_type":             field("string", "Underlying storage", noDefault, true, true),
		}),
		"size":         field("integer", "Size of the drive in bytes", nil, false, true),
		"snapshots":    field("related", "Snapshots of this drive", noDefault, true, false),
		"status":       field("string", "Status of the drive.", noDefault, true, true),
		"storage_type": field("string", "Underlying storage", noDefault, false, true),
		"tags":         field("related", helpTags, noDefault, false, false),
		"uuid":         field("string", "UUID of the drive", nil, true, true),
	}
}

// snapshotSchemaFields are the members of a snapshot, as the manual's
// snapshot schema lists them.
func snapshotSchemaFields() map[string]schemaField {
	return map[string]schemaField{
		"allocated_size": field("integer", "Physical size of the snapshot", noDefault, true, true),
		"drive":          field("related", "Drive UUID", nil, false, true),
		"grantees":       field("list", helpList, noDefault, false, false),
		"meta":           field("dict", "User defined meta information", map[string]any{}, false, false),
		"name":           field("string", "Optional human readable name of the snapshot", nil, false, false),
		"owner":          field("related", "Owner of the snapshot", nil, true, false),
		"permissions":    field("list", helpList, noDefault, false, false),
		"resource_uri":   field("string", helpURI, noDefault, true, true),
		"status":         field("string", "Status of the snapshot.", noDefault, true, true),
		"tags":           field("related", helpTags, noDefault, false, false),
		"timestamp":      field("string", "Timestamp of the snapshot creation", nil, true, true),
		"uuid":           field("string", "UUID of the snapshot", nil, true, true),
	}
}

// libDriveSchemaFields are the members of a library drive, as the
// manual's library drive schema lists them.
func libDriveSchemaFields() map[string]schemaField {
	d := driveSchemaFields()
	out := map[string]schemaField{
		"arch":          field("string", "Operating system bit architecture the drive.", nil, false, true),
		"category":      field("list", "Category of the drive.", []any{}, false, false),
		"description":   field("string", "Description of drive image.", nil, false, false),
		"distribution":  field("string", "OS distribution of the drive.", nil, false, false),
		"favourite":     field("boolean", "Favourite drive image for user.", nil, false, true),
		"image_type":    field("string", "Type of drive image.", nil, false, true),
		"install_notes": field("string", "Install notes for the drive image.", nil, false, false),
		"os":            field("string", "Operating system of the drive.", nil, false, true),
		"paid":          field("boolean", "Paid or free.", nil, false, true),
		"url":           field("string", "URL of the drive image's vendor.", nil, false, false),
		"version":       field("string", "OS version of the drive.", nil, false, false),
	}
	for _, k := range []string{"affinities", "allow_multimount", "jobs", "licenses", "media", "meta", "mounted_on",
		"name", "owner", "resource_uri", "size", "status", "storage_type", "tags", "uuid"} {
		out[k] = d[k]
	}
	return out
}

// jobSchemaFields are the members of a job.
func jobSchemaFields() map[string]schemaField {
	return map[string]schemaField{
		"children":      field("list", "Jobs started by this job", []any{}, true, false),
		"created":       field("string", "When the job was created", nil, true, true),
		"data":          field("dict", "Progress of the job (data.progress, 0 to 100)", map[string]any{}, true, false),
		"last_modified": field("string", "When the job last changed", nil, true, true),
		"operation":     field("string", "What the job does", nil, true, true),
		"parent":        field("related", "The job that started this one", nil, true, false),
		"resource_uri":  field("string", helpURI, noDefault, true, true),
		"resources":     field("list", "The resources the job works on", []any{}, true, false),
		"state":         withChoices(field("string", "State of the job", nil, true, true), "started", "success", "failed"),
		"uuid":          field("string", "UUID of the job", nil, true, true),
	}
}

// capabilitiesSchemaFields are the sections of the capabilities object.
func capabilitiesSchemaFields() map[string]schemaField {
	return map[string]schemaField{
		"drives":    field("dict", "Minimum and maximum drive size of each storage type", map[string]any{}, true, true),
		"servers":   field("dict", "Limits of server cpu, cpu per smp, mem and smp", map[string]any{}, true, true),
		"snapshots": field("dict", "Number of snapshots taken and allowed", map[string]any{}, true, true),
	}
}

// filterNames lists the keys of a resource's filters for its schema.
func filterNames[T any](filters map[string]filterFunc[T]) map[string]string {
	out := make(map[string]string, len(filters))
	for k := range filters {
		out[k] = "exact"
	}
	return out
}

// schemaMethods returns the methods the router serves on a pattern, in
// lower case, in the order the manual's schemas give them; an unknown
// pattern has none.
func (s *Server) schemaMethods(pattern string) []string {
	var methods map[string]http.HandlerFunc
	for _, ro := range s.api.routes {
		if strings.Join(ro.segs, "/") == pattern && ro.rest == "" {
			methods = ro.methods
		}
	}
	order := []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost}
	out := []string{}
	for _, m := range order {
		if _, ok := methods[m]; ok {
			out = append(out, strings.ToLower(m))
		}
	}
	for _, m := range slices.Sorted(maps.Keys(methods)) {
		if !slices.Contains(order, m) {
			out = append(out, strings.ToLower(m))
		}
	}
	return out
}

// registerSchemas registers `{resource}/schema/` of every resource with a
// list. Its methods and filters are read from the router and the filter
// tables, so a schema says what the emulator does.
func (s *Server) registerSchemas() {
	type entry struct {
		resource, detail string
		fields           func() map[string]schemaField
		filtering        map[string]string
	}
	entries := []entry{
		{"drives", "drives/{uuid}", driveSchemaFields, filterNames(driveFilters())},
		{"snapshots", "snapshots/{uuid}", snapshotSchemaFields, filterNames(snapshotFilters())},
		{"libdrives", "libdrives/{uuid}", libDriveSchemaFields, filterNames(libDriveFilters())},
		{"jobs", "jobs/{uuid}", jobSchemaFields, filterNames(jobFilters())},
		{"capabilities", "", capabilitiesSchemaFields, map[string]string{}},
	}
	for _, e := range entries {
		s.api.handle(e.resource+"/schema", map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, schema{
				AllowedDetail: s.schemaMethods(e.detail),
				AllowedList:   s.schemaMethods(e.resource),
				DefaultFormat: "application/json",
				DefaultLimit:  defaultPageSize,
				Fields:        e.fields(),
				Filtering:     e.filtering,
			})
		}})
	}
}
