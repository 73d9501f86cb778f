package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/guichet/guichet/web"
)

// diskCheck is a /healthz check of the free space of folders: when one of them has less
// than min bytes left, mail soon gets 451 (the spool, the database and attachments
// cannot be written) while the database still answers, so the check fails first and a
// load balancer or monitor sees it. It only asks the file system (statfs): it writes
// nothing.
type diskCheck struct {
	dirs []string
	min  uint64
	// free returns the bytes available to this process on path's file system;
	// errors.ErrUnsupported where the system cannot tell.
	free func(path string) (uint64, error)
}

// Ping reports the first folder below the minimum. A folder not created yet (sent/
// before the first mail) is skipped, and so is the check where free space is unknown.
func (d diskCheck) Ping(ctx context.Context) error {
	for _, dir := range d.dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := d.free(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, errors.ErrUnsupported):
			return nil
		case err != nil:
			return fmt.Errorf("free space of %s: %w", dir, err)
		case n < d.min:
			return fmt.Errorf("%s: %d bytes free, below --min-free-space %d", dir, n, d.min)
		}
	}
	return nil
}

// diskChecks returns the /healthz checks of free space for c: "spool" for the spool
// folder (when spooled is set), "disk" for the other folders written (the data folder,
// the SQLite database's, attachments/, sent/ without a relay); none when
// --min-free-space is 0. Each folder is checked on its own: any may be a mount.
func diskChecks(c Config, spooled bool, free func(string) (uint64, error)) map[string]web.Pinger {
	m := map[string]web.Pinger{}
	if c.MinFreeSpace <= 0 {
		return m
	}
	dirs := []string{c.DataDir, filepath.Join(c.DataDir, "attachments")}
	if !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		dirs = append(dirs, filepath.Dir(strings.TrimPrefix(c.DB, "sqlite://")))
	}
	if c.Relay == "" {
		dirs = append(dirs, filepath.Join(c.DataDir, "sent"))
	}
	m["disk"] = diskCheck{dirs: uniqueDirs(dirs), min: uint64(c.MinFreeSpace), free: free}
	if spooled {
		m["spool"] = diskCheck{dirs: []string{filepath.Join(c.DataDir, "spool")}, min: uint64(c.MinFreeSpace), free: free}
	}
	return m
}

// uniqueDirs drops the folders named twice (after cleaning).
func uniqueDirs(dirs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
