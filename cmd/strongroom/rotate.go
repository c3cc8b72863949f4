package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/strongroom/strongroom"
)

// RotateMasterKey is the operator's command: the same rotation as the API.
func (m *Main) RotateMasterKey(ctx context.Context) error {
	if err := m.open(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()
	if m.StatusOnly {
		r, err := m.Store.Rotation(ctx)
		if err != nil {
			return err
		}
		printRotation(m.Stdout, r)
		return nil
	}
	r, err := m.Service.Rotate(ctx, func(r strongroom.Rotation) {
		fmt.Fprintf(m.Stdout, "rewrapping: %d data keys under version %d\n", r.Rewrapped, r.TargetVersion)
	})
	if err != nil {
		return fmt.Errorf("rotation stopped (run the command again to resume): %w", err)
	}
	printRotation(m.Stdout, r)
	return nil
}

func printRotation(w io.Writer, r strongroom.Rotation) {
	if r.State == strongroom.RotationNone {
		fmt.Fprintln(w, "no rotation has run yet")
		return
	}
	fmt.Fprintf(w, "state: %s\nversion: %d\nrewrapped: %d\nstarted: %s\n", r.State, r.TargetVersion, r.Rewrapped, r.StartedAt.Format(time.RFC3339))
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(w, "finished: %s\n", r.FinishedAt.Format(time.RFC3339))
	}
}
