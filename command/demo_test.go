package command

import "testing"

func TestDemoUploadVsChunker(t *testing.T) {
	steps := []demoStep{
		{Step: "generate image", MBps: 900, CPUSeconds: 0.3},
		{Step: demoStepChunk, MBps: 1000, CPUSeconds: 0.5},
		{Step: demoStepUploadV1, MBps: 550, CPUSeconds: 0.95},
	}
	want := "API 1.0 upload at 55% of the chunker-only rate, with 1.9x its CPU: " +
		"the emulator gunzips and stores on the same cores what the client gzips"
	if got := demoUploadVsChunker(steps); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Without either row, or without CPU figures (no getrusage), no line.
	for _, s := range [][]demoStep{steps[:2], {steps[0], steps[2]}, {{Step: demoStepChunk, MBps: 1000}, {Step: demoStepUploadV1, MBps: 500}}} {
		if got := demoUploadVsChunker(s); got != "" {
			t.Errorf("%+v: got %q, want no line", s, got)
		}
	}
}
