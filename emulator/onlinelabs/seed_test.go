package onlinelabs

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// seedStep is one curl request of the Online Labs API guide and the response the seed
// shows for it, with the seed's placeholders and IDs left in: the test
// substitutes them.
type seedStep struct {
	name   string
	method string
	path   string
	body   string
	status int
	resp   string
}

// seed000 holds the five requests of the Online Labs API guide as the seed writes them.
// Two curl typos of the seed are mended so the bodies are JSON: step 2's
// body begins with a stray `\` inside the quotes, and step 4's `-X PUT`
// line lacks the `\` that keeps -d on the same command. Step 5's status
// is not in the seed; the API documentation answers actions with 202.
var seed000 = []seedStep{
	{name: "step 1 list images", method: "GET", path: "/images", status: 200, resp: `{
  "images": [
    {
      "arch": "arm",
      "creation_date": "2014-06-04T12:38:32.534063+00:00",
      "extra_volumes": "[]",
      "from_image": null,
      "from_server": null,
      "id": "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c",
      "marketplace_key": null,
      "modification_date": "2014-06-04T12:38:32.534063+00:00",
      "name": "Ubuntu Trusty (14.04) on SSD 2014.06.04",
      "organization": "cc57d96c-03ac-44a5-bc91-8d1de2bbf8a8",
      "public": true,
      "root_volume": {
        "id": "c583bf78-ebd5-4ebc-863f-71905d2c39fd",
        "name": "Ubuntu Trusty RootFS snapshot"
      }
    }
  ]
}`},
	{name: "step 2 create server", method: "POST", path: "/servers", status: 201, body: `{
"name": "<YOUR_SERVER_NAME>",
"image": "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c",
"tags": ["temporary", "test"],
"organization": "<YOUR_ORGANIZATION_ID>"
}`, resp: `{
  "server": {
    "dynamic_public_ip": false,
    "id": "c88d1aee-b65d-4ab9-bafd-3df293782693",
    "image": {
      "id": "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c",
      "name": "Ubuntu Trusty (14.04) on SSD 2014.06.04"
    },
    "name": "<YOUR_SERVER_NAME>",
    "organization": "<YOUR_ORGANIZATION_ID>",
    "private_ip": null,
    "public_ip": null,
    "state": "stopped",
    "state_detail": "",
    "tags": [
      "temporary",
      "test"
    ],
    "volumes": {
      "0": {
        "export_uri": null,
        "id": "1a96f139-95f8-4680-aeeb-0a58229d18d5",
        "name": "Ubuntu Trusty RootFS snapshot",
        "organization": "<YOUR_ORGANIZATION_ID>",
        "server": {
          "id": "c88d1aee-b65d-4ab9-bafd-3df293782693",
          "name": "<YOUR_SERVER_NAME>"
        },
        "size": 20000000000,
        "volume_type": "l_ssd"
      }
    }
  }
}`},
	{name: "step 3 create volume", method: "POST", path: "/volumes", status: 201, body: `{
"name": "<YOUR_VOLUME_NAME>",
"organization": "<YOUR_ORGANIZATION_ID>",
"size": 10000000000,
"volume_type": "l_ssd"
}`, resp: `{
  "volume": {
    "export_uri": null,
    "id": "65e7d766-103b-4fb1-819a-fb95e3a15348",
    "name": "<YOUR_VOLUME_NAME>",
    "organization": "<YOUR_ORGANIZATION_ID>",
    "server": null,
    "size": 10000000000,
    "volume_type": "l_ssd"
  }
}`},
	{name: "step 4 attach volume", method: "PUT", path: "/servers/<YOUR_SERVER_ID>", status: 200, body: `{
"dynamic_public_ip": false,
"id": "c88d1aee-b65d-4ab9-bafd-3df293782693",
"image": {
"id": "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c",
"name": "Ubuntu Trusty (14.04) on SSD 2014.06.04"
},
"name": "<YOUR_SERVER_NAME>",
"organization": "<YOUR_ORGANIZATION_ID>",
"private_ip": null,
"public_ip": null,
"state": "stopped",
"state_detail": "",
"tags": [
"temporary",
"test"
],
"volumes": {
"0": {"id": "1a96f139-95f8-4680-aeeb-0a58229d18d5", "name": "volume 1"},
"1": {"id": "65e7d766-103b-4fb1-819a-fb95e3a15348", "name": "volume 2"}
}
}`, resp: `{
  "server": {
    "dynamic_public_ip": false,
    "id": "c88d1aee-b65d-4ab9-bafd-3df293782693",
    "image": {
      "id": "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c",
      "name": "Ubuntu Trusty (14.04) on SSD 2014.06.04"
    },
    "name": "<YOUR_SERVER_NAME>",
    "organization": "<YOUR_ORGANIZATION_ID>",
    "private_ip": null,
    "public_ip": null,
    "state": "stopped",
    "state_detail": "",
    "tags": [
      "temporary",
      "test"
    ],
    "volumes": {
      "0": {
        "export_uri": null,
        "id": "1a96f139-95f8-4680-aeeb-0a58229d18d5",
        "name": "Ubuntu Trusty RootFS snapshot",
        "organization": "<YOUR_ORGANIZATION_ID>",
        "server": {
          "id": "c88d1aee-b65d-4ab9-bafd-3df293782693",
          "name": "<YOUR_SERVER_NAME>"
        },
        "size": 20000000000,
        "volume_type": "l_ssd"
      },
      "1": {
        "export_uri": null,
        "id": "65e7d766-103b-4fb1-819a-fb95e3a15348",
        "name": "<YOUR_VOLUME_NAME>",
        "organization": "<YOUR_ORGANIZATION_ID>",
        "server": {
          "id": "c88d1aee-b65d-4ab9-bafd-3df293782693",
          "name": "<YOUR_SERVER_NAME>"
        },
        "size": 10000000000,
        "volume_type": "l_ssd"
      }
    }
  }
}`},
	{name: "step 5 start server", method: "POST", path: "/servers/<YOUR_SERVER_ID>/action", status: 202,
		body: `{"action":"poweron"}`, resp: `{
  "task": {
    "description": "server_batch_poweron",
    "href_from": "/servers/c88d1aee-b65d-4ab9-bafd-3df293782693/action",
    "id": "1f8e2202-83b3-463b-948d-9d1e5aa7dfe1",
    "progress": "0",
    "started_at": "2014-07-22T12:17:39.067932+00:00",
    "status": "pending",
    "terminated_at": null
  }
}`},
}

// The IDs the Online Labs API guide shows for the objects its requests create; the test
// replaces them with the emulator's as they appear.
const (
	seedServerID = "c88d1aee-b65d-4ab9-bafd-3df293782693"
	seedRootID   = "1a96f139-95f8-4680-aeeb-0a58229d18d5"
	seedVolumeID = "65e7d766-103b-4fb1-819a-fb95e3a15348"
)

// volatile are the keys whose values differ in every run: their type is
// checked, not their value.
var volatile = map[string]bool{"id": true, "started_at": true}

// TestSeed000 runs every request of the Online Labs API guide, in order, against the
// emulator over HTTP and checks the status code, the shape of the answer
// (field names and JSON types, nulls included) and every value that does
// not change from run to run.
func TestSeed000(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	cfg := emu.Config()
	subst := map[string]string{
		"<YOUR_API_TOKEN_HERE>":  cfg.Token,
		"<YOUR_ORGANIZATION_ID>": cfg.Organization,
		"<YOUR_SERVER_NAME>":     "seed-server",
		"<YOUR_VOLUME_NAME>":     "seed-volume",
	}
	replace := func(s string) string {
		for k, v := range subst {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	for _, st := range seed000 {
		req, err := http.NewRequest(st.method, srv.URL+replace(st.path), strings.NewReader(replace(st.body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Auth-Token", cfg.Token)
		if st.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, resp.StatusCode, st.status, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", st.name, ct)
		}
		var got any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s: answer is not JSON: %v", st.name, err)
		}
		// Learn the emulator's IDs for the objects the seed names.
		switch st.name {
		case "step 2 create server":
			srvObj := got.(map[string]any)["server"].(map[string]any)
			subst["<YOUR_SERVER_ID>"] = srvObj["id"].(string)
			subst[seedServerID] = srvObj["id"].(string)
			subst[seedRootID] = srvObj["volumes"].(map[string]any)["0"].(map[string]any)["id"].(string)
		case "step 3 create volume":
			subst[seedVolumeID] = got.(map[string]any)["volume"].(map[string]any)["id"].(string)
		}
		var want any
		if err := json.Unmarshal([]byte(replace(st.resp)), &want); err != nil {
			t.Fatalf("%s: the seed's answer: %v", st.name, err)
		}
		for _, d := range compareShape("", want, got) {
			t.Errorf("%s: %s", st.name, d)
		}
	}
}

// compareShape lists where got differs from want in field names or JSON
// types, and in values except under volatile keys. A list is compared
// element by element against want's elements.
func compareShape(path string, want, got any) []string {
	key := path[strings.LastIndex(path, ".")+1:]
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", path, got)}
		}
		var d []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				d = append(d, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			d = append(d, compareShape(path+"."+k, wv, gv)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				d = append(d, fmt.Sprintf("%s.%s: not in the seed", path, k))
			}
		}
		return d
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: %v, want a list of %d", path, got, len(w))}
		}
		var d []string
		for i := range w {
			d = append(d, compareShape(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return d
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: %T %v, want %T", path, got, got, want)}
		}
		if !volatile[key] && want != got {
			return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
		}
	}
	return nil
}
