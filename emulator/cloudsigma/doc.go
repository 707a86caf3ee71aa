// Package cloudsigma is a local, persistent CloudSigma emulator: API 1.0
// drives at `/` (the API 1.0 manual), API 2.0 at `/api/2.0/` (the API 2.0
// manual) including the direct upload and download endpoints, and a second
// "storage" listener that serves signed, expiring download URLs with Range
// support. `drivecp serve --cloud cloudsigma` runs it through Emulator.
//
// Defaults: user DefaultUser (user@example.com), password DefaultPassword
// (secret), signed URLs valid for DefaultURLExpiry (10 minutes), jobs last
// DefaultJobDuration (2 s). Drives may be 1 byte to MaxDriveSize; a direct
// upload smaller than MinDriveSize (512 MiB, the `dssd` minimum of the API
// 2.0 manual's capabilities example) is grown to it, sparsely.
//
// State lives in a Store: drives are sparse files `<data>/drives/<uuid>.img`
// beside metadata `<uuid>.json` written atomically (temp file, rename; no
// fsync: a test double need not survive a power loss); snapshots, jobs and
// the generated library drives have folders of their own. Everything is
// loaded at start, so a data folder survives restarts. Clones and snapshots
// copy only data regions (SEEK_DATA/SEEK_HOLE, then all-zero blocks are
// skipped), so copies of big sparse drives are cheap; the copy is made
// during the request, and the job that reports it then advances with time
// until the resources reach their final status. The Store's code is in
// store_*.go, one file per concern (persistence, rendering, drives, clones,
// jobs, snapshots, library drives, data I/O, uploads); the handlers are in
// api1.go, transfer.go and v2_*.go.
//
// The library (libDriveDefs) has five drives, as the manual's examples
// mix them: three free disks, a paid pre-installed Windows image whose
// `licenses` list the manual's Windows Server license, and an install CD
// (media cdrom, in API 1.0's `drives/standard/cd/list`). A clone of the
// paid image carries no licenses: the store's drives have none.
//
// Authentication: HTTP Basic on both APIs; on API 2.0 also Digest (MD5,
// qop auth, realm "users", stateless signed nonces that expire after 5
// minutes) and the session of `POST accounts/action/?do=login` (cookies
// sessionid and csrftoken; every method but GET, HEAD and OPTIONS needs the
// token in X-CSRFToken). API 2.0 answers JSON to an Accept of
// application/json, */* or none (406 to one it cannot serve, XML
// included), gzip-compressed when Accept-Encoding allows it.
//
// pycloudsigma's chunk uploader is emulated too: `POST
// drives/{uuid}/action/?do=upload_chunk` on a drive from `initupload/`
// answers a signed link per 0-based chunk (416 once the chunk is stored),
// and the link takes the chunk's raw bytes without credentials.
//
// Status codes: API 1.0 answers 404 for an unknown drive (also on clone,
// where the API 1.0 manual says 400, so clients can tell it from a bad
// size), 400 for invalid input, 409 for a busy drive, 411 for a write
// without Content-Length or with chunked transfer encoding. API 2.0 answers
// the documented JSON error list: 404 notexist, 400 validation with the
// field as error_point, 503 concurrency for a busy resource (the API 2.0
// manual has no 409).
//
// Request limits (Config.RateLimits, off unless set): API 2.0 requests
// that passed authentication count per method over a sliding minute (the
// manual's §2.13: 10000 GET, POST and PUT, 1000 DELETE). The manual names
// no answer over a limit; the emulator answers 429 with Retry-After and a
// concurrency error list, as django-tastypie, the framework API 2.0's
// `meta`/`objects` lists come from, throttles.
//
// Faults (Config.FailRate, ResetRate, Latency, ConnBandwidth, Seed) are
// package emulator's: one seeded generator decides the failures and resets
// of both listeners, so a sequence of requests meets the same faults in
// every run.
package cloudsigma
