package cloudsigma

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// uploadLinkExpiry is how long a chunk link of `do=upload_chunk` is
// valid: five minutes, as pycloudsigma's documentation of the call says.
const uploadLinkExpiry = 5 * time.Minute

// uploadChunkInput is the body of `POST drives/{uuid}/action/?do=upload_chunk`:
// the 0-based chunk number and the chunk size. Every chunk has chunk_size
// bytes but the last, which carries the rest of the drive.
type uploadChunkInput struct {
	ChunkNumber *jsonInt `json:"chunk_number"`
	ChunkSize   *jsonInt `json:"chunk_size"`
}

// v2UploadChunkLink serves the upload action of pycloudsigma's second
// uploader on a drive made by `initupload/`: it answers `{"link": ...}`, a
// signed URL that takes the chunk's bytes without credentials, or 416 when
// the chunk is already stored, so a resumed upload skips it.
func (s *Server) v2UploadChunkLink(w http.ResponseWriter, r *http.Request) {
	var in uploadChunkInput
	if err := readJSON(w, r, &in); err != nil {
		writeV2StoreError(w, err)
		return
	}
	if in.ChunkNumber == nil || *in.ChunkNumber < 0 {
		writeV2StoreError(w, invalid("chunk_number", "this field is required: the 0-based number of the chunk"))
		return
	}
	if in.ChunkSize == nil || *in.ChunkSize <= 0 {
		writeV2StoreError(w, invalid("chunk_size", "this field is required: the size of every chunk but the last, in bytes"))
		return
	}
	id := r.PathValue("uuid")
	d, err := s.store.GetDrive(id)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	c := Chunk{Number: int(*in.ChunkNumber) + 1, ChunkSize: int64(*in.ChunkSize), TotalSize: d.Size}
	stored, err := s.store.ChunkStored(id, c)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	if stored {
		writeV2Error(w, http.StatusRequestedRangeNotSatisfiable, wire.NewError(wire.ErrTypeValidation, "chunk_number",
			"chunk %d is already uploaded", *in.ChunkNumber))
		return
	}
	exp := time.Now().Add(uploadLinkExpiry).Unix()
	l := chunkLink{id: id, number: strconv.FormatInt(int64(*in.ChunkNumber), 10),
		size: strconv.FormatInt(c.ChunkSize, 10), expires: strconv.FormatInt(exp, 10)}
	l.sig = s.sign(l.subject(), exp)
	writeJSON(w, http.StatusOK, map[string]string{"link": l.path()})
}

// chunkLink is a signed chunk link. Its parts are path segments, not a
// query: pycloudsigma appends a slash to every URL it requests, which
// would spoil a query's last value.
type chunkLink struct{ id, number, size, expires, sig string }

// path is `/api/2.0/drives/{uuid}/upload_chunk/{number}/{size}/{expires}/{sig}/`.
func (l chunkLink) path() string {
	return "/api/2.0/drives/" + l.id + "/upload_chunk/" + l.number + "/" + l.size + "/" + l.expires + "/" + l.sig + "/"
}

// subject is what the signature covers: the drive and the chunk.
func (l chunkLink) subject() string {
	return l.id + "\nupload_chunk\n" + l.number + "\n" + l.size
}

// isChunkLink tells a POST to a chunk link, which carries its signature
// instead of credentials.
func isChunkLink(r *http.Request) (chunkLink, bool) {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/2.0/"), "/"), "/")
	if r.Method != http.MethodPost || len(segs) != 7 || segs[0] != "drives" || segs[2] != "upload_chunk" {
		return chunkLink{}, false
	}
	return chunkLink{id: segs[1], number: segs[3], size: segs[4], expires: segs[5], sig: segs[6]}, true
}

// serveChunkLink stores the chunk a link names from the raw body (exactly
// the chunk's bytes). A link whose signature is wrong or expired is 403.
func (s *Server) serveChunkLink(w http.ResponseWriter, r *http.Request, l chunkLink) {
	if !s.checkSignature(l.subject(), l.expires, l.sig) {
		writeV2Error(w, http.StatusForbidden, wire.NewError(wire.ErrTypePermission, "sig", "the chunk link is not valid or has expired: ask for a new one"))
		return
	}
	if hasChunkedTE(r) || r.ContentLength < 0 {
		writeV2Error(w, http.StatusLengthRequired, wire.NewError(wire.ErrTypeValidation, "Content-Length", "a chunk is sent with its Content-Length"))
		return
	}
	d, err := s.store.GetDrive(l.id)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	num, err1 := strconv.Atoi(l.number)
	size, err2 := strconv.ParseInt(l.size, 10, 64)
	if err1 != nil || err2 != nil {
		writeV2Error(w, http.StatusForbidden, wire.NewError(wire.ErrTypePermission, "sig", "the chunk link is not valid"))
		return
	}
	done, err := s.store.WriteChunk(r.Context(), l.id, Chunk{Number: num + 1, ChunkSize: size, TotalSize: d.Size}, r.Body)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chunk_number": num, "stored": true, "complete": done})
}
