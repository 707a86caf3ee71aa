package cloudsigma

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// jsonInt is an integer member of a request. The API takes it as a JSON
// number or as a JSON string of decimal digits ("size": "1073741824"),
// because its older releases answered numbers as strings and clients such
// as pycloudsigma still send them that way; answers always use numbers.
// A number with a zero fraction (1073741824.0) is the integer it names.
type jsonInt int64

// UnmarshalJSON implements json.Unmarshaler. Anything else than an integer
// or a string of digits is a *json.UnmarshalTypeError, which decodeJSON
// reports as a validation error on the member.
func (n *jsonInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		text = strings.TrimSpace(s)
		if text == "" || strings.IndexFunc(text, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: reflect.TypeFor[int64]()}
		}
	}
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		*n = jsonInt(v)
		return nil
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		*n = jsonInt(int64(f))
		return nil
	}
	kind := "value " + text
	if len(b) > 0 && b[0] == '"' {
		kind = "string " + text
	}
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[int64]()}
}
