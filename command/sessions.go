package command

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
)

// flagRestart is the upload and download flag that discards a checkpoint.
const flagRestart = "restart"

// sessionEnv is the session.Env of a transfer command: the checkpoint
// store, --restart, --quiet and the command's stderr.
func sessionEnv(c *cli.Context) (session.Env, error) {
	st, err := checkpointStore()
	if err != nil {
		return session.Env{}, err
	}
	return session.Env{Store: st, Restart: c.Bool(flagRestart), Stderr: c.App.ErrWriter, Quiet: c.Bool(flagQuiet)}, nil
}

// openUploadSession opens the session of an upload of f (at path) in
// chunkSize pieces, total of them, into drive (--drive, or "" to create
// one named --name or after the image). host is the endpoint's host.
func openUploadSession(c *cli.Context, host, api, path string, f *os.File, chunkSize int64, total int, drive string) (*session.Session, error) {
	env, err := sessionEnv(c)
	if err != nil {
		return nil, err
	}
	src, err := resume.SourceOf(f, chunkSize)
	if err != nil {
		return nil, err
	}
	name := c.String(flagUploadName)
	if name == "" {
		name = filepath.Base(path)
	}
	return env.OpenUpload(resume.Key{API: api, Endpoint: host, LocalPath: path, ChunkSize: chunkSize}, src, total,
		session.UploadNames{Drive: drive, Name: name, NameSet: c.IsSet(flagUploadName)})
}

// openDownloadSession opens the session of a download of drive (size
// bytes) into out, planned as pieces of chunkSize.
func openDownloadSession(c *cli.Context, host, api, drive string, size int64, out string, chunkSize int64, pieces []chunker.Piece, concurrency int) (*session.Session, error) {
	env, err := sessionEnv(c)
	if err != nil {
		return nil, err
	}
	return env.OpenDownload(c.Context, resume.Key{API: api, Endpoint: host, Drive: drive, LocalPath: out, ChunkSize: chunkSize}, size, pieces, concurrency)
}
