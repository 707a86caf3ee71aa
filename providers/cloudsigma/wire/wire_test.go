package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4194304": 4194304, "4M": 4 << 20, "4m": 4 << 20, "1k": 1024, "2G": 2 << 30, "1T": 1 << 40,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "M", "4MB", "4.5M", "0x10", "9223372036854775807k", " 4 M"} {
		if _, err := ParseSize(in); !errors.Is(err, ErrBadSize) {
			t.Errorf("ParseSize(%q) err = %v, want ErrBadSize", in, err)
		}
	}
}

func TestKVRoundTrip(t *testing.T) {
	objs := []KV{
		{{"drive", "d3a15904-5a2f-4d9e-b12f-f304c361422e"}, {"name", "Test drive"}, {"size", "12582912"}, {"read:bytes", "4096"}},
		{{"drive", "5e70b725-438b-464b-bd9b-b8e9ddee2c8c"}, {"name", ""}},
	}
	var b bytes.Buffer
	if err := EncodeKVList(&b, objs); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeKVList(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, objs) {
		t.Fatalf("round trip:\n got %q\nwant %q", got, objs)
	}
	if v, ok := got[0].Get("name"); !ok || v != "Test drive" {
		t.Errorf("Get(name) = %q, %v", v, ok)
	}
}

func TestDecodeSeedBodies(t *testing.T) {
	// The shapes the API 1.0 manual shows: a list of UUIDs, and `errors:FIELD message`.
	list, err := DecodeLines(strings.NewReader("efdeb730-7ed2-485d-8c60-2e23986cc63a\nb4da194f-97f1-4d39-a09e-9bc6996195c3\n\n"))
	if err != nil || len(list) != 2 {
		t.Fatalf("DecodeLines = %q, %v", list, err)
	}
	kv, err := DecodeKV(strings.NewReader("errors:size Missing or invalid\r\nname\tTest\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := KV{{"errors:size", "Missing or invalid"}, {"name", "Test"}}
	if !reflect.DeepEqual(kv, want) {
		t.Fatalf("DecodeKV = %q, want %q", kv, want)
	}
	if _, err := DecodeKV(strings.NewReader("a 1\n\nb 2\n")); err == nil {
		t.Error("DecodeKV accepted two objects")
	}
}

func TestErrorListShape(t *testing.T) {
	b, err := json.Marshal(NewError(ErrTypeValidation, "size", "must be at least %d", 1))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"error_type":"validation","error_message":"must be at least 1","error_point":"size"}]`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	b, _ = json.Marshal(NewError(ErrTypeNotExist, "", "no such drive"))
	if !strings.Contains(string(b), `"error_point":null`) {
		t.Fatalf("error_point must be present as null: %s", b)
	}
	if s := NewError(ErrTypeValidation, "size", "too small").String(); s != "validation: size: too small" {
		t.Errorf("String() = %q", s)
	}
}

func TestResumableChunkCount(t *testing.T) {
	for _, tc := range []struct {
		size, chunk int64
		want        int
	}{
		{0, 4, 1}, {3, 4, 1}, {4, 4, 1}, {7, 4, 1}, {8, 4, 2}, {9, 4, 2},
	} {
		if got := ResumableChunkCount(tc.size, tc.chunk); got != tc.want {
			t.Errorf("ResumableChunkCount(%d, %d) = %d, want %d", tc.size, tc.chunk, got, tc.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "4M", "1k", "12582912", "9223372036854775807", "8796093022208T", "", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative without error", s, n)
		}
	})
}

func FuzzDecodeKVList(f *testing.F) {
	f.Add("name Test\nsize 12582912\n\ndrive x\n")
	f.Add("errors:size bad\n")
	f.Add("\n\n \t\n")
	f.Fuzz(func(t *testing.T, s string) {
		objs, err := DecodeKVList(strings.NewReader(s))
		if err != nil {
			return
		}
		// Whatever parses must survive an encode/decode round trip unchanged.
		var b bytes.Buffer
		if err := EncodeKVList(&b, objs); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeKVList(&b)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", b.String(), err)
		}
		if len(again) != len(objs) {
			t.Fatalf("round trip changed object count: %q -> %q", objs, again)
		}
	})
}
