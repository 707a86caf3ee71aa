package cloudsigma

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// maxJSONBody bounds API 2.0 JSON request bodies.
const maxJSONBody = 1 << 20

// registerTransfers registers API 2.0's transfer endpoints: the one-request
// direct upload, the chunked resumable upload and the download redirect.
// The emulator's direct host is its API host.
func (s *Server) registerTransfers() {
	s.api.handle("drives/upload/{name...}", map[string]http.HandlerFunc{http.MethodPost: s.directUpload})
	s.api.handle("initupload", map[string]http.HandlerFunc{http.MethodPost: s.initUpload})
	s.api.handle("drives/{uuid}/upload", map[string]http.HandlerFunc{http.MethodGet: s.testChunk, http.MethodPost: s.postChunk})
	s.api.handle("drives/{uuid}/download", map[string]http.HandlerFunc{http.MethodGet: s.downloadRedirect})
}

// directUpload streams the body into a new drive whose size is the exact
// Content-Length and answers the drive's UUID as text.
func (s *Server) directUpload(w http.ResponseWriter, r *http.Request) {
	if hasChunkedTE(r) || r.ContentLength < 0 {
		writeV2Error(w, http.StatusLengthRequired, wire.NewError(wire.ErrTypeValidation, "Content-Length",
			"the exact Content-Length is required: it sets the drive's size (chunked transfer encoding is not supported)"))
		return
	}
	if r.ContentLength == 0 {
		writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "Content-Length", "the image is empty"))
		return
	}
	name := "Upload " + time.Now().UTC().Format("2006-01-02 15:04:05")
	d, err := s.store.BeginUpload(name, r.ContentLength)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	if err := s.streamInto(r, d.UUID, r.ContentLength); err != nil {
		s.store.AbortUpload(d.UUID)
		writeV2StoreError(w, err)
		return
	}
	if _, err := s.store.FinishUpload(d.UUID); err != nil {
		s.store.AbortUpload(d.UUID)
		writeV2StoreError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Location", driveURI(d.UUID))
	_, _ = io.WriteString(w, d.UUID)
}

// streamInto copies exactly n body bytes to the start of a drive, through a
// pooled buffer: the image is never held in memory.
func (s *Server) streamInto(r *http.Request, id string, n int64) error {
	h, err := s.store.OpenDrive(id, ReadWrite)
	if err != nil {
		return err
	}
	defer h.Close()
	got, err := h.WriteFrom(r.Context(), r.Body, 0, n)
	switch {
	case errors.Is(err, ErrInvalid):
		return invalid("body", "the body held more than the %d bytes Content-Length said", n)
	case err != nil:
		return invalid("body", "reading the image: %v", err)
	case got != n:
		return invalid("body", "the body held %d bytes, Content-Length said %d", got, n)
	}
	return nil
}

// uploadSpec is one object of an /initupload/ request.
type uploadSpec struct {
	Name  string  `json:"name"`
	Media string  `json:"media"`
	Size  jsonInt `json:"size"`
}

// decodeObjects parses a body that is `{"objects":[...]}`, a bare list or a
// single object, as API 2.0 create requests may be.
func decodeObjects[T any](r io.Reader) ([]T, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	trimmed := strings.TrimSpace(string(raw))
	switch {
	case strings.HasPrefix(trimmed, "["):
		var list []T
		err = json.Unmarshal(raw, &list)
		return list, err
	case strings.HasPrefix(trimmed, "{"):
		var env struct {
			Objects *[]T `json:"objects"`
		}
		if err := json.Unmarshal(raw, &env); err == nil && env.Objects != nil {
			return *env.Objects, nil
		}
		var one T
		err = json.Unmarshal(raw, &one)
		return []T{one}, err
	}
	return nil, errors.New("expected a JSON object or list")
}

// initUpload creates a drive in status `uploading` for the chunked upload.
func (s *Server) initUpload(w http.ResponseWriter, r *http.Request) {
	specs, err := decodeObjects[uploadSpec](http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "", "invalid JSON: %v", err))
		return
	}
	if len(specs) != 1 {
		writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "objects", "exactly one drive is uploaded at a time"))
		return
	}
	d, err := s.store.InitUpload(specs[0].Name, int64(specs[0].Size), specs[0].Media)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	w.Header().Set("Location", driveURI(d.UUID))
	writeJSON(w, http.StatusCreated, wire.List[wire.Drive]{Objects: []wire.Drive{d}})
}

// chunkFromValues reads the resumable fields the store needs.
func chunkFromValues(get func(string) string) (Chunk, error) {
	var c Chunk
	num, err := strconv.Atoi(get(wire.ResumableChunkNumber))
	if err != nil {
		return c, invalid(wire.ResumableChunkNumber, "must be an integer")
	}
	cs, err := strconv.ParseInt(get(wire.ResumableChunkSize), 10, 64)
	if err != nil {
		return c, invalid(wire.ResumableChunkSize, "must be an integer")
	}
	total, err := strconv.ParseInt(get(wire.ResumableTotalSize), 10, 64)
	if err != nil {
		return c, invalid(wire.ResumableTotalSize, "must be an integer")
	}
	return Chunk{Number: num, ChunkSize: cs, TotalSize: total}, nil
}

// testChunk answers 200 when the chunk is stored and 404 when it is not,
// as resumable.js's test request expects.
func (s *Server) testChunk(w http.ResponseWriter, r *http.Request) {
	c, err := chunkFromValues(r.URL.Query().Get)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	ok, err := s.store.ChunkStored(r.PathValue("uuid"), c)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	if !ok {
		writeV2Error(w, http.StatusNotFound, wire.NewError(wire.ErrTypeNotExist, wire.ResumableChunkNumber, "chunk %d is not stored", c.Number))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chunk": c.Number, "stored": true})
}

// postChunk stores one chunk sent as multipart/form-data: the resumable
// fields (as form fields before the file, or in the query string) and a
// `file` part, streamed to the drive.
func (s *Server) postChunk(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "Content-Type", "a chunk is sent as multipart/form-data"))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "body", "%v", err))
		return
	}
	fields := url.Values{}
	for k, v := range r.URL.Query() {
		fields[k] = v
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, wire.ResumableFilePart, "the request has no %q part", wire.ResumableFilePart))
			return
		}
		if err != nil {
			writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "body", "%v", err))
			return
		}
		if part.FormName() != wire.ResumableFilePart {
			v, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "body", "%v", err))
				return
			}
			fields.Set(part.FormName(), strings.TrimSpace(string(v)))
			continue
		}
		s.storeChunk(w, r, fields, part)
		return
	}
}

func (s *Server) storeChunk(w http.ResponseWriter, r *http.Request, fields url.Values, part *multipart.Part) {
	c, err := chunkFromValues(fields.Get)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	done, err := s.store.WriteChunk(r.Context(), r.PathValue("uuid"), c, part)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	status := http.StatusOK
	if done {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"chunk": c.Number, "stored": true, "complete": done})
}

// downloadRedirect answers a redirect to a signed, expiring URL on the
// storage listener (clients must follow redirects).
func (s *Server) downloadRedirect(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("uuid")
	if _, err := s.store.GetDrive(id); err != nil {
		writeV2StoreError(w, err)
		return
	}
	http.Redirect(w, r, s.signedURL(id), http.StatusFound)
}

// serveDownload serves a drive's bytes to a holder of a valid signed URL:
// application/octet-stream, named after the drive's UUID, with Range
// support unless Config.NoRange.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("uuid")
	q := r.URL.Query()
	if !s.checkSignature(id, q.Get("expires"), q.Get("sig")) {
		http.Error(w, "signature invalid or expired", http.StatusForbidden)
		return
	}
	h, err := s.store.OpenDrive(id, ReadOnly)
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "no such drive", http.StatusNotFound)
		return
	case errors.Is(err, ErrBusy):
		http.Error(w, MessageOf(err), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, "cannot open drive", http.StatusInternalServerError)
		return
	}
	defer h.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id))
	if s.cfg.NoRange {
		w.Header().Set("Content-Length", strconv.FormatInt(h.Size(), 10))
		if r.Method == http.MethodHead {
			return
		}
		buf := s.getBuf()
		defer s.putBuf(buf)
		_, _ = io.CopyBuffer(w, h.Section(), *buf)
		return
	}
	// ServeContent does Range, If-Range and HEAD properly; a zero modtime
	// keeps it from sending Last-Modified.
	http.ServeContent(w, r, "", time.Time{}, h.Section())
}
