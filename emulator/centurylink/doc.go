// Package centurylink emulates the CenturyLink Cloud API v2 as far as
// drivecp uses it: every request of the CenturyLink API walkthrough (login, deployment
// capabilities, the data center with its group links, groups, server
// creation with its status link, operation status, server details with
// details.disks, PATCH, reboot), plus the disk and snapshot operations of
// CenturyLink's API documentation (the disk list set by PATCH, server
// snapshots created by POST /v2/operations/{alias}/servers/createSnapshot,
// deleted and restored under /v2/servers/{alias}/{server}/snapshots/{id})
// and the power operations under /v2/operations/{alias}/servers/{action}.
//
// State is kept in memory only: a restarted emulator starts with an empty
// account (plus Config.Servers).
//
// Where the documentation is silent the emulator chooses, and drivecp's
// client relies on no more than this:
//   - A wrong login answers 400 with {"message": ...}; a missing, unknown
//     or expired bearer token answers 401 {"message":"Authorization has
//     been denied for this request."}. Tokens expire after Config.TokenTTL.
//   - Errors are {"message": ...}, with "modelState" for invalid bodies;
//     unknown servers, snapshots and operations answer 404, another
//     account alias 403.
//   - An operation is notStarted for the first quarter of
//     Config.OperationTime, executing until it has passed, then succeeded.
//     A server build and a snapshot take effect when their operation
//     succeeds; a disk change (PATCH of "disks") and a snapshot deletion
//     take effect at once and their operation only reports progress, so a
//     second change made right after the first sees the first's disks.
//   - PATCH answers 204 when it only sets description or groupId, else 202
//     with the operation's status link {"id","rel","href"}.
//   - Operating-system disks are the ones the template made (0:0, 0:1 and
//     0:2 for Linux templates, 0:0 for Windows); a disk list without one of
//     them, a smaller size for an existing disk, or a partition path the
//     template reserves is refused with 400. New disks get the next free
//     ID on bus 0; a server holds at most 15 disks.
//   - A server keeps at most one snapshot: createSnapshot for a server that
//     has one (or is taking one) answers that server's item with
//     "isQueued": false and an "errorMessage". Restoring a snapshot puts
//     back the disk list the server had when it was taken.
package centurylink
