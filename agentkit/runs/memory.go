package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store in one process's memory: for tests, and for an
// agent of one task that may lose its runs when it stops. Its zero value
// is an empty store; it is safe for concurrent use. It keeps runs until the
// process ends (Run.Expires is not enforced).
type MemoryStore struct {
	mu     sync.Mutex
	runs   map[string]*Run
	events map[string][]Event
}

var _ Store = (*MemoryStore)(nil)

// Create implements Store.
func (m *MemoryStore) Create(ctx context.Context, r Run) (Run, bool, error) {
	if err := CheckNew(r); err != nil {
		return Run{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.runs[r.ID]; ok {
		return clone(old), false, nil
	}
	if m.runs == nil {
		m.runs = map[string]*Run{}
		m.events = map[string][]Event{}
	}
	c := clone(&r)
	m.runs[r.ID] = &c
	return clone(&c), true, nil
}

// Get implements Store.
func (m *MemoryStore) Get(ctx context.Context, id string) (Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return clone(r), nil
}

// Claim implements Store.
func (m *MemoryStore) Claim(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if !(r.Status == Queued || r.Status == Running && r.LeaseUntil.Before(now)) {
		return clone(r), fmt.Errorf("run %s is %s: %w", id, r.Status, ErrNotClaimable)
	}
	r.Status, r.Owner, r.LeaseUntil, r.Started = Running, owner, now.Add(lease), now
	r.Attempt++
	return clone(r), nil
}

// held returns the run owner holds, or ErrLeaseLost.
func (m *MemoryStore) held(id, owner string) (*Run, error) {
	r, ok := m.runs[id]
	if !ok {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if r.Status != Running || r.Owner != owner {
		return nil, fmt.Errorf("run %s is %s, held by another: %w", id, r.Status, ErrLeaseLost)
	}
	return r, nil
}

// Renew implements Store.
func (m *MemoryStore) Renew(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held(id, owner)
	if err != nil {
		return Run{}, err
	}
	r.LeaseUntil = now.Add(lease)
	return clone(r), nil
}

// Release implements Store.
func (m *MemoryStore) Release(ctx context.Context, id, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held(id, owner)
	if err != nil {
		return err
	}
	r.Status, r.Owner, r.LeaseUntil = Queued, "", time.Time{}
	return nil
}

// Append implements Store.
func (m *MemoryStore) Append(ctx context.Context, id, owner string, ev Event) error {
	if err := CheckEvent(ev); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held(id, owner)
	if err != nil {
		return err
	}
	if ev.Seq != r.Events+1 {
		return fmt.Errorf("run %s has %d events; event %d is not the next: %w", id, r.Events, ev.Seq, ErrLeaseLost)
	}
	m.events[id] = append(m.events[id], ev)
	r.Events = ev.Seq
	return nil
}

// Events implements Store.
func (m *MemoryStore) Events(ctx context.Context, id string, after int64, limit int) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.runs[id]; !ok {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	evs := m.events[id]
	i, _ := slices.BinarySearchFunc(evs, after+1, func(e Event, seq int64) int { return int(e.Seq - seq) })
	evs = evs[i:]
	if limit > 0 && len(evs) > limit {
		evs = evs[:limit]
	}
	return slices.Clone(evs), nil
}

// Finish implements Store.
func (m *MemoryStore) Finish(ctx context.Context, id, owner string, status Status, result json.RawMessage, errText string, now time.Time) (Run, error) {
	errText, err := CheckEnd(status, result, errText)
	if err != nil {
		return Run{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held(id, owner)
	if err != nil {
		return Run{}, err
	}
	r.Status, r.Result, r.Error, r.Ended = status, slices.Clone(result), errText, now
	r.Owner, r.LeaseUntil = "", time.Time{}
	return clone(r), nil
}

// Cancel implements Store.
func (m *MemoryStore) Cancel(ctx context.Context, id string, now time.Time) (Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	switch r.Status {
	case Queued:
		r.Status, r.Error, r.Ended = Cancelled, ErrCancelled.Error(), now
	case Running:
		r.CancelRequested = true
	}
	return clone(r), nil
}

func clone(r *Run) Run {
	c := *r
	c.Input = slices.Clone(r.Input)
	c.Result = slices.Clone(r.Result)
	return c
}
