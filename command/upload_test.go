package command

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/drivecp/drivecp/chunker"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/api1"
	"github.com/drivecp/drivecp/providers/httpclient"
	"github.com/drivecp/drivecp/transfer"
)

func TestDetectFormat(t *testing.T) {
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, n)...) }
	vhdFixed := append(bytes.Repeat([]byte{7}, 4096), pad([]byte("conectix"), 504)...)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"raw", bytes.Repeat([]byte{1}, 4096), ""},
		{"zeros", make([]byte, 4096), ""},
		{"tiny", []byte("x"), ""},
		{"qcow2", pad([]byte("QFI\xfb"), 1000), "qcow2"},
		{"vmdk sparse", pad([]byte("KDMV"), 1000), "VMDK"},
		{"vmdk descriptor", []byte("# Disk DescriptorFile\nversion=1\n"), "VMDK"},
		{"vhdx", pad([]byte("vhdxfile"), 1000), "VHDX"},
		{"vhd dynamic", pad([]byte("conectix"), 1000), "VHD (dynamic)"},
		{"vhd fixed", vhdFixed, "VHD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := detectFormat(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil || got != tc.want {
				t.Errorf("detectFormat = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestOpenImageRefusals(t *testing.T) {
	dir := t.TempDir()
	qcow := filepath.Join(dir, "a.qcow2")
	if err := os.WriteFile(qcow, []byte("QFI\xfb\x00\x00\x00\x03"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing"), dir, empty, qcow} {
		_, _, err := openImage(p, false)
		var u *usageError
		if !errors.As(err, &u) || ExitCode(err) != ExitUsage {
			t.Errorf("openImage(%s) = %v, want a usage error", p, err)
		}
	}
	f, size, err := openImage(qcow, true)
	if err != nil || size != 8 {
		t.Fatalf("--force-raw: %v", err)
	}
	f.Close()
}

// BenchmarkUploadEmulatorV1 uploads a mixed image over API 1.0 to an
// in-process emulator on loopback (no shaping), beside
// BenchmarkChunkOnly on the same image: the ratio is the cost of HTTP and
// of the emulator's gunzip sharing the CPU.
func BenchmarkUploadEmulatorV1(b *testing.B) {
	img, size := benchImage(b)
	srv, err := emulator.New(emulator.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	base, _ := url.Parse(srv.URL())
	cfg := srv.Config()
	hc := httpclient.New(httpclient.Options{Username: cfg.User, Password: cfg.Password, AuthHosts: []string{base.Host}})
	v1, err := api1.New(hc, srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	chunkIO := v1
	f, pieces := benchPlan(b, img, size)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		d, err := v1.CreateDrive(context.Background(), providers.DriveSpec{Name: "bench", Size: size})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := transfer.Upload(context.Background(), f, pieces, transfer.OffsetSink{W: chunkIO, Drive: d.UUID},
			transfer.Options{Gzip: true, SkipZero: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkOnly is read+hash+gzip of the same image with no network.
func BenchmarkChunkOnly(b *testing.B) {
	img, size := benchImage(b)
	f, pieces := benchPlan(b, img, size)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		if err := chunkOnly(context.Background(), f, pieces, transfer.DefaultConcurrency); err != nil {
			b.Fatal(err)
		}
	}
}

// benchImage is the demo's image (or $DRIVECP_BENCH_IMAGE), 128 MiB.
func benchImage(b *testing.B) (string, int64) {
	if p := os.Getenv("DRIVECP_BENCH_IMAGE"); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		return p, fi.Size()
	}
	const size = 128 << 20
	p := filepath.Join(b.TempDir(), "bench.img")
	if err := writeDemoImage(p, size); err != nil {
		b.Fatal(err)
	}
	return p, size
}

func benchPlan(b *testing.B, img string, size int64) (*os.File, []chunker.Piece) {
	f, err := os.Open(img)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	pieces, err := chunker.PlanFile(f, size, chunker.DefaultChunkSize, false)
	if err != nil {
		b.Fatal(err)
	}
	return f, pieces
}
