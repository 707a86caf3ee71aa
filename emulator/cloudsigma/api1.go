package cloudsigma

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// maxV1Body bounds the key-value bodies of create and clone.
const maxV1Body = 64 << 10

// registerV1 registers API 1.0's drive commands.
func (s *Server) registerV1() {
	get := func(h http.HandlerFunc) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{http.MethodGet: h}
	}
	post := func(h http.HandlerFunc) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{http.MethodPost: h}
	}
	s.v1.handle("drives/create", post(s.v1Create))
	s.v1.handle("drives/list", get(s.v1List))
	s.v1.handle("drives/info", get(s.v1InfoAll))
	s.v1.handle("drives/standard/list", get(s.v1StandardList("")))
	s.v1.handle("drives/standard/cd/list", get(s.v1StandardList("cdrom")))
	s.v1.handle("drives/standard/img/list", get(s.v1StandardList("disk")))
	s.v1.handle("drives/{uuid}/info", get(s.v1Info))
	s.v1.handle("drives/{uuid}/write", post(s.v1Write))
	s.v1.handle("drives/{uuid}/write/{offset}", post(s.v1Write))
	// A sibling API of the same family reads with POST; both are accepted.
	s.v1.handle("drives/{uuid}/read/{offset}/{size}", map[string]http.HandlerFunc{http.MethodGet: s.v1Read, http.MethodPost: s.v1Read})
	s.v1.handle("drives/{uuid}/clone", post(s.v1Clone))
	s.v1.handle("drives/{uuid}/destroy", post(s.v1Destroy))
}

// v1Status maps an API 2.0 status to API 1.0's `active`/`inactive`.
func v1Status(st string) string {
	switch st {
	case wire.StatusUnmounted, wire.StatusMounted:
		return "active"
	}
	return "inactive"
}

// v1IO counts one drive's API 1.0 reads and writes since the server
// started, for the read:/write: lines of info. They live in memory only:
// the manual gives them as usage figures, not as state a restart keeps.
type v1IO struct{ readBytes, readRequests, writeBytes, writeRequests int64 }

// countIO adds one read or write of n bytes to a drive's counters.
func (s *Server) countIO(id string, write bool, n int64) {
	s.ioMu.Lock()
	defer s.ioMu.Unlock()
	c := s.io[id]
	if c == nil {
		c = &v1IO{}
		s.io[id] = c
	}
	if write {
		c.writeBytes += n
		c.writeRequests++
	} else {
		c.readBytes += n
		c.readRequests++
	}
}

// v1Drive renders a drive as API 1.0 key-values, in the order of the
// manual's example, then the I/O counters its command-line example shows.
func (s *Server) v1Drive(d wire.Drive) wire.KV {
	kv := wire.KV{
		{Key: wire.V1KeyStatus, Value: v1Status(d.Status)},
		{Key: wire.V1KeyUser, Value: OwnerUUID},
		{Key: wire.V1KeySize, Value: strconv.FormatInt(d.Size, 10)},
		{Key: wire.V1KeyName, Value: d.Name},
		{Key: wire.V1KeyDrive, Value: d.UUID},
		{Key: wire.V1KeyType, Value: d.Media},
	}
	if d.StorageType == "dssd" {
		kv = append(kv, wire.Pair{Key: "tags", Value: "affinity:ssd"})
	}
	var c v1IO
	s.ioMu.Lock()
	if p := s.io[d.UUID]; p != nil {
		c = *p
	}
	s.ioMu.Unlock()
	return append(kv,
		wire.Pair{Key: "read:bytes", Value: strconv.FormatInt(c.readBytes, 10)},
		wire.Pair{Key: "read:requests", Value: strconv.FormatInt(c.readRequests, 10)},
		wire.Pair{Key: "write:bytes", Value: strconv.FormatInt(c.writeBytes, 10)},
		wire.Pair{Key: "write:requests", Value: strconv.FormatInt(c.writeRequests, 10)})
}

func writeV1KV(w http.ResponseWriter, status int, objs ...wire.KV) {
	var b strings.Builder
	_ = wire.EncodeKVList(&b, objs)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// readV1Object parses a create or clone body.
func readV1Object(w http.ResponseWriter, r *http.Request) (wire.KV, bool) {
	kv, err := wire.DecodeKV(http.MaxBytesReader(w, r.Body, maxV1Body))
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, "body", "cannot parse key-value body: "+err.Error())
		return nil, false
	}
	return kv, true
}

func (s *Server) v1Create(w http.ResponseWriter, r *http.Request) {
	kv, ok := readV1Object(w, r)
	if !ok {
		return
	}
	name, _ := kv.Get(wire.V1KeyName)
	sizeStr, ok := kv.Get(wire.V1KeySize)
	if !ok {
		writeV1Error(w, http.StatusBadRequest, wire.V1KeySize, "this field is required")
		return
	}
	size, err := wire.ParseSize(sizeStr)
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, wire.V1KeySize, err.Error())
		return
	}
	d := wire.Drive{Name: name, Size: size}
	if tags, _ := kv.Get("tags"); !strings.Contains(tags, "affinity:ssd") {
		// API 1.0's default is HDD; the emulator has one storage type
		// per medium and calls HDD "zadara", as the API 2.0 manual's capabilities do.
		d.StorageType = "zadara"
	}
	d, err = s.store.ProvisionDrive(d)
	if err != nil {
		writeV1StoreError(w, err)
		return
	}
	writeV1KV(w, http.StatusOK, s.v1Drive(d))
}

func (s *Server) v1List(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	for _, d := range s.store.ListDrives() {
		b.WriteString(d.UUID)
		b.WriteByte('\n')
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, b.String())
}

// v1StandardList answers the UUIDs of the standard drives (the library
// drives), one a line: all of them, or those of one medium (`cdrom` for the
// CD list, `disk` for the image list).
func (s *Server) v1StandardList(media string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for _, l := range s.store.ListLibDrives() {
			if media == "" || l.Media == media {
				b.WriteString(l.UUID)
				b.WriteByte('\n')
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, b.String())
	}
}

func (s *Server) v1InfoAll(w http.ResponseWriter, r *http.Request) {
	var objs []wire.KV
	for _, d := range s.store.ListDrives() {
		objs = append(objs, s.v1Drive(d))
	}
	writeV1KV(w, http.StatusOK, objs...)
}

func (s *Server) v1Info(w http.ResponseWriter, r *http.Request) {
	d, err := s.store.GetDrive(r.PathValue("uuid"))
	if err != nil {
		writeV1StoreError(w, err)
		return
	}
	writeV1KV(w, http.StatusOK, s.v1Drive(d))
}

// v1Write writes the body at OFFSET. The body is raw or gzip; chunked
// transfer encoding is refused because the API requires Content-Length.
func (s *Server) v1Write(w http.ResponseWriter, r *http.Request) {
	if hasChunkedTE(r) {
		writeV1Error(w, http.StatusLengthRequired, "Transfer-Encoding",
			"chunked transfer encoding is not supported: send the body with a Content-Length")
		return
	}
	if r.ContentLength < 0 || len(r.Header.Values("Content-Length")) == 0 {
		writeV1Error(w, http.StatusLengthRequired, "Content-Length", "a Content-Length header is required")
		return
	}
	var off int64
	if o := r.PathValue("offset"); o != "" {
		var err error
		if off, err = wire.ParseSize(o); err != nil {
			writeV1Error(w, http.StatusBadRequest, "offset", err.Error())
			return
		}
	}
	var gz bool
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		writeV1Error(w, http.StatusBadRequest, "Content-Encoding", fmt.Sprintf("%q is not supported (raw or gzip)", enc))
		return
	}
	h, err := s.store.OpenDrive(r.PathValue("uuid"), ReadWrite)
	if err != nil {
		writeV1StoreError(w, err)
		return
	}
	defer h.Close()
	if off > h.Size() {
		writeV1Error(w, http.StatusBadRequest, "offset", fmt.Sprintf("offset %d is past the drive's end (%d bytes)", off, h.Size()))
		return
	}
	room := h.Size() - off
	if !gz && r.ContentLength > room {
		writeV1Error(w, http.StatusBadRequest, "size", fmt.Sprintf("%d bytes at offset %d pass the drive's end (%d bytes)", r.ContentLength, off, h.Size()))
		return
	}
	var src io.Reader = r.Body
	if gz {
		zr, err := s.getGzipReader(r.Body)
		if err != nil {
			writeV1Error(w, http.StatusBadRequest, "body", "invalid gzip data: "+err.Error())
			return
		}
		defer s.putGzipReader(zr)
		src = zr
	}
	// WriteFrom refuses a body (or a gzip bomb) that holds more than fits
	// without writing past the drive's end.
	n, err := h.WriteFrom(r.Context(), src, off, room)
	switch {
	case errors.Is(err, ErrInvalid):
		writeV1Error(w, http.StatusBadRequest, "size", fmt.Sprintf("data at offset %d passes the drive's end (%d bytes)", off, h.Size()))
		return
	case err != nil:
		writeV1Error(w, http.StatusBadRequest, "body", "reading the body: "+err.Error())
		return
	}
	if gz {
		// A gzip stream must end where the body ends: trailing garbage or
		// a truncated member is a broken upload.
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1)); err != nil {
			writeV1Error(w, http.StatusBadRequest, "body", "reading the body: "+err.Error())
			return
		}
	}
	s.countIO(r.PathValue("uuid"), true, n)
	w.WriteHeader(http.StatusNoContent)
}

// getGzipReader returns a pooled gzip reader of body: a reader carries
// about 50 KiB of tables and window that every API 1.0 write would
// otherwise allocate.
func (s *Server) getGzipReader(body io.Reader) (*gzip.Reader, error) {
	if zr, ok := s.gzipReaders.Get().(*gzip.Reader); ok {
		if err := zr.Reset(body); err != nil {
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(body)
}

// putGzipReader returns zr to the pool once its request is done.
func (s *Server) putGzipReader(zr *gzip.Reader) { s.gzipReaders.Put(zr) }

func hasChunkedTE(r *http.Request) bool {
	for _, te := range r.TransferEncoding {
		if strings.EqualFold(te, "chunked") {
			return true
		}
	}
	return false
}

// v1Read answers SIZE bytes at OFFSET (at most 4 MiB). A read that starts
// inside the drive but passes its end is truncated at the end; one that
// starts past the end is refused.
func (s *Server) v1Read(w http.ResponseWriter, r *http.Request) {
	off, err := wire.ParseSize(r.PathValue("offset"))
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, "offset", err.Error())
		return
	}
	size, err := wire.ParseSize(r.PathValue("size"))
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, "size", err.Error())
		return
	}
	if size > wire.V1MaxRead {
		writeV1Error(w, http.StatusBadRequest, "size", fmt.Sprintf("size %d is more than the %d bytes one read may return", size, wire.V1MaxRead))
		return
	}
	h, err := s.store.OpenDrive(r.PathValue("uuid"), ReadOnly)
	if err != nil {
		writeV1StoreError(w, err)
		return
	}
	defer h.Close()
	if off > h.Size() || (off == h.Size() && size > 0) {
		writeV1Error(w, http.StatusBadRequest, "offset", fmt.Sprintf("offset %d is past the drive's end (%d bytes)", off, h.Size()))
		return
	}
	size = min(size, h.Size()-off)
	buf := s.getBuf()
	defer s.putBuf(buf)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	if r.Method == http.MethodHead {
		return
	}
	n, err := io.CopyBuffer(w, io.NewSectionReader(h, off, size), *buf)
	s.countIO(r.PathValue("uuid"), false, n)
	if err != nil {
		return // the client went away; the status is already sent
	}
}

func (s *Server) v1Clone(w http.ResponseWriter, r *http.Request) {
	kv, ok := readV1Object(w, r)
	if !ok {
		return
	}
	spec := CloneSpec{}
	spec.Name, _ = kv.Get(wire.V1KeyName)
	if strings.TrimSpace(spec.Name) == "" {
		writeV1Error(w, http.StatusBadRequest, wire.V1KeyName, "this field is required")
		return
	}
	if v, ok := kv.Get(wire.V1KeySize); ok {
		size, err := wire.ParseSize(v)
		if err != nil {
			writeV1Error(w, http.StatusBadRequest, wire.V1KeySize, err.Error())
			return
		}
		if size == 0 {
			writeV1Error(w, http.StatusBadRequest, wire.V1KeySize, "must be positive")
			return
		}
		spec.Size = size
	}
	// API 1.0's clone answers when the copy is done.
	d, _, err := s.store.cloneDrive(r.Context(), r.PathValue("uuid"), spec, true)
	if err != nil {
		writeV1StoreError(w, err)
		return
	}
	if fresh, err := s.store.GetDrive(d.UUID); err == nil {
		d = fresh
	}
	writeV1KV(w, http.StatusOK, s.v1Drive(d))
}

func (s *Server) v1Destroy(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteDrive(r.PathValue("uuid")); err != nil {
		writeV1StoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
