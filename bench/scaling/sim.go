package main

import "math"

// service is the simulated ECS service behind its ALB.
type service struct {
	p       Params
	tasks   []*task
	desired int
	rr      int // the ALB's round-robin position
}

func newService(p Params) *service {
	s := &service{p: p}
	for range p.StartTasks {
		// The initial tasks are up and healthy before the model starts.
		s.tasks = append(s.tasks, &task{up: -1, healthy: -1, ends: make([]int, p.Hold+1)})
	}
	s.desired = p.StartTasks
	return s
}

// setDesired launches or scales in tasks so that desired tasks are in
// service (not draining). A scale-in takes tasks that do not serve yet
// first, then the newest: ECS's choice among equals is not modelled.
func (s *service) setDesired(n, now int) {
	for ; s.desired < n; s.desired++ {
		up := now + s.p.TaskStart
		s.tasks = append(s.tasks, &task{up: up, healthy: up + s.p.HealthDelay, ends: make([]int, s.p.Hold+1)})
	}
	for i := len(s.tasks) - 1; s.desired > n && i >= 0; i-- {
		if t := s.tasks[i]; !t.draining() && !t.routable(now) {
			t.stopAt = now // never served: stops at once
			s.desired--
		}
	}
	for i := len(s.tasks) - 1; s.desired > n && i >= 0; i-- {
		if t := s.tasks[i]; !t.draining() {
			t.stopAt = now + s.p.DeregDelay
			s.desired--
		}
	}
}

// tick ends the requests due at second now and removes stopped tasks.
func (s *service) tick(now int) {
	kept := s.tasks[:0]
	for _, t := range s.tasks {
		slot := now % len(t.ends)
		t.inflight -= t.ends[slot]
		t.ends[slot] = 0
		if !t.draining() || now < t.stopAt {
			kept = append(kept, t)
		}
	}
	s.tasks = kept
}

// route sends one request to the next routable task, round robin (the
// ALB's default algorithm, which the construct keeps), and reports
// whether the task took it.
func (s *service) route(now int) (served, routed bool) {
	var targets []*task
	for _, t := range s.tasks {
		if t.routable(now) {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return false, false
	}
	t := targets[s.rr%len(targets)]
	s.rr++
	if t.inflight >= s.p.TaskLimit {
		return false, true
	}
	t.inflight++
	t.ends[(now+s.p.Hold)%len(t.ends)]++
	return true, true
}

// minute accumulates one one-minute period of the three metrics.
type minute struct {
	cpu, cpuN          float64
	inflight, runningN float64
	requests           float64
	routableN          float64
}

func (m *minute) sample(s *service, now int) {
	for _, t := range s.tasks {
		if !t.running(now) {
			continue
		}
		used := float64(t.inflight) * s.p.CPUPerRequest / s.p.TaskVCPU
		m.cpu += 100 * math.Min(used, 1)
		m.cpuN++
		m.inflight += float64(t.inflight)
		m.runningN++
		if t.routable(now) {
			m.routableN++
		}
	}
}

func (m *minute) point() point {
	var pt point
	if m.cpuN > 0 {
		pt.cpu = m.cpu / m.cpuN
		pt.inflight = m.inflight / m.runningN
	}
	if m.routableN > 0 {
		pt.reqPerTarget = m.requests / (m.routableN / 60)
	}
	return pt
}

// scaler is Application Auto Scaling for one setup.
type scaler struct {
	p        Params
	setup    Setup
	lastOut  int // second of the last scale-out, or a time long past
	baseOut  int // the desired count before it
	lastIn   int // second of the last scale-in, or a time long past
	decision []Decision
}

const longAgo = -1 << 30

// evaluate runs every policy's alarms on the datapoints so far (the newest
// last) and returns the new desired count.
func (sc *scaler) evaluate(points []point, desired, now int) int {
	out := desired
	inReady, inTo := true, sc.p.MinTasks
	for _, pol := range sc.setup.Policies {
		v := points[len(points)-1].value(pol.Metric)
		if breaching(points, sc.p.HighPoints, func(pt point) bool { return pt.value(pol.Metric) > pol.Target }) {
			base := desired
			if now < sc.lastOut+pol.ScaleOutCooldown {
				// In the scale-out cooldown, the capacity the last scale-out
				// added counts toward this one: only a larger one goes through.
				base = sc.baseOut
			}
			out = max(out, clamp(proportional(base, v, pol.Target), sc.p.MinTasks, sc.p.MaxTasks))
		}
		low := pol.Target * sc.p.LowRatio
		want := clamp(proportional(desired, v, pol.Target), sc.p.MinTasks, sc.p.MaxTasks)
		ready := breaching(points, sc.p.LowPoints, func(pt point) bool { return pt.value(pol.Metric) < low }) &&
			want < desired && now >= sc.lastIn+pol.ScaleInCooldown
		inReady = inReady && ready
		inTo = max(inTo, want)
	}
	switch {
	case out > desired:
		sc.lastOut, sc.baseOut, sc.lastIn = now, desired, longAgo
		sc.decision = append(sc.decision, Decision{At: now, From: desired, To: out})
		return out
	case inReady && len(sc.setup.Policies) > 0:
		// A scale-in ends a scale-out cooldown: the capacity that scale-out
		// added is gone, so it no longer counts toward the next one (ours).
		sc.lastIn, sc.lastOut = now, longAgo
		sc.decision = append(sc.decision, Decision{At: now, From: desired, To: inTo})
		return inTo
	}
	return desired
}

// breaching reports whether the newest n datapoints all satisfy breach.
func breaching(points []point, n int, breach func(point) bool) bool {
	if len(points) < n {
		return false
	}
	for _, pt := range points[len(points)-n:] {
		if !breach(pt) {
			return false
		}
	}
	return true
}

// arrivals is the number of requests arriving during second now: the
// integral of the rate, floored, so that the model needs no random numbers.
func arrivals(p Params, now int, arrived *float64) int {
	before := math.Floor(*arrived + 1e-9)
	*arrived += p.rate(now)
	return int(math.Floor(*arrived+1e-9) - before)
}

// Run simulates one setup under p, one second at a time.
func Run(p Params, setup Setup) Result {
	svc := newService(p)
	sc := &scaler{p: p, setup: setup, lastOut: longAgo, lastIn: longAgo}
	r := Result{Setup: setup, Enough: p.EnoughTasks(), TimeToEnough: -1, MinDesired: svc.desired, MaxDesired: svc.desired}
	var (
		cur     minute
		points  []point
		arrived float64
	)
	for now := 0; now < p.Duration; now++ {
		// The datapoint of the minute that ended MetricDelay ago reaches the
		// alarms now; the alarms evaluate then and invoke the policies.
		if ended := now - p.MetricDelay; ended > 0 && ended%60 == 0 && ended/60 <= len(points) {
			if n := sc.evaluate(points[:ended/60], svc.desired, now); n != svc.desired {
				if n < svc.desired && p.inBurst(now) {
					r.ScaledInDuringBurst = true
				}
				svc.setDesired(n, now)
				r.MinDesired, r.MaxDesired = min(r.MinDesired, n), max(r.MaxDesired, n)
			}
		}
		svc.tick(now)
		n := arrivals(p, now, &arrived)
		for range n {
			served, routed := svc.route(now)
			if routed {
				cur.requests++
			}
			r.Arrived++
			if p.inBurst(now) {
				r.BurstArrived++
			}
			if served {
				r.Served++
			} else {
				r.Rejected++
				if p.inBurst(now) {
					r.BurstRejected++
				}
			}
		}
		cur.sample(svc, now)
		routable, held := 0, 0
		for _, t := range svc.tasks {
			if t.running(now) {
				r.TaskSeconds++
			}
			if t.routable(now) {
				routable++
				held += t.inflight
			}
		}
		if routable > 0 {
			r.PeakInFlight = math.Max(r.PeakInFlight, float64(held)/float64(routable))
		}
		if r.TimeToEnough < 0 && p.inBurst(now) && routable >= r.Enough {
			r.TimeToEnough = now - p.BurstStart
		}
		if now%60 == 59 {
			points = append(points, cur.point())
			cur = minute{}
			r.Desired = append(r.Desired, svc.desired)
			r.Routable = append(r.Routable, routable)
		}
	}
	r.Decisions = sc.decision
	r.Points = points
	return r
}
