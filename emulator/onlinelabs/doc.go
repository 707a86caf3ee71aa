// Package onlinelabs emulates the Online Labs compute API
// (https://api.cloud.online.net, the Online Labs API guide and the API documentation of
// that time) as a plain http.Handler, so that drivecp's onlinelabs
// provider, its tests and `drivecp serve --cloud onlinelabs` run without an
// account.
//
// What it serves, every request behind the X-Auth-Token header (401
// invalid_auth when it is missing or wrong):
//
//   - /images: list, get, create (201; root_volume names an available
//     snapshot), delete (204; public images are refused with 403);
//   - /servers: list, get, create (201, a root volume made from the
//     image's snapshot), PUT of the whole server (200; a change of its
//     volumes map is refused with 400 while the server is not stopped),
//     /servers/{id}/action GET (the actions) and POST (202 with a task);
//   - /volumes: list, get, create (201), rename by PUT (200), delete (204;
//     refused with 400 while attached);
//   - /snapshots: list, get, create (201, state snapshotting, available
//     after the operation time), rename by PUT, delete (204; refused while
//     an image uses it);
//   - /tasks: list, get; a task is pending, then started, then success.
//
// Errors have the API's documented JSON form: {"type", "message"} and,
// for invalid input, "fields" mapping each field to its messages; the
// types are invalid_request_error (400), invalid_auth (401),
// authorization_required (403), unknown_resource (404).
//
// Assumptions where the documentation of the time says nothing, chosen as
// a user would expect and kept to by the provider:
//   - lists page with ?page=N (from 1) and ?per_page=M (default
//     Config.PageSize, at most 100), answer X-Total-Count and an RFC 8288
//     Link header with rel="next" and rel="last", as the later Scaleway
//     API of the same lineage does;
//   - volume sizes are bytes but counted in whole decimal gigabytes: a size
//     that is not a positive multiple of 10^9 is refused (400, fields.size);
//   - snapshot creation answers 201 like every other creation (the
//     documentation's example shows 200 under a copied "Create a new
//     server" heading); snapshots, images and volumes carry no tags or
//     metadata;
//   - a volume's size cannot be changed (PUT with another size is refused):
//     the API documents no resize;
//   - asynchronous work (server power, snapshots) progresses with time,
//     computed when a request arrives: a task is pending for the first
//     quarter of Config.OperationTime, started until it has passed, then
//     success; a server is starting/stopping and a snapshot snapshotting
//     for that long.
//
// State is kept in memory only: a restart of the emulator starts empty
// again, save for the public image it always offers.
package onlinelabs
