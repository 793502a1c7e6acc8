//! The longest chain through the run's DAG, for any per-step durations: the critical path of a
//! finished run (durations measured) and the projected clock (durations estimated).
//!
//! A step starts when its explicit needs and, through the phase barrier, every step of an
//! earlier phase have finished; it finishes its duration later. Nothing here knows what the
//! steps do: the caller chooses the durations.

use std::time::Duration;

use crate::graph::Graph;

/// When each step would finish if every step started as early as its predecessors allow.
#[derive(Debug, Clone)]
pub struct Schedule {
    finish: Vec<Duration>,
    /// The predecessor that finished last (the one a step waited for), if any.
    previous: Vec<Option<usize>>,
    durations: Vec<Duration>,
}

impl Schedule {
    /// Lays out `graph` with `durations` (by step position; missing entries weigh nothing).
    pub fn of(graph: &Graph, durations: &[Duration]) -> Self {
        let count = graph.len();
        let durations: Vec<Duration> = (0..count)
            .map(|position| durations.get(position).copied().unwrap_or_default())
            .collect();
        let mut finish = vec![Duration::ZERO; count];
        let mut previous: Vec<Option<usize>> = vec![None; count];
        // The latest finish among all steps of the phases before the current one, and so far.
        let mut barrier: (Duration, Option<usize>) = (Duration::ZERO, None);
        let mut best_so_far: (Duration, Option<usize>) = (Duration::ZERO, None);
        let mut current_phase = None;
        for &position in graph.order() {
            let phase = graph.step(position).phase;
            if current_phase != Some(phase) {
                barrier = best_so_far;
                current_phase = Some(phase);
            }
            let mut start = barrier;
            // Ascending, so that of needs finishing together the first in the graph is named.
            let mut needs: Vec<usize> = graph.needs_of(position).collect();
            needs.sort_unstable();
            for need in needs {
                if start.1.is_none() || finish[need] > start.0 {
                    start = (finish[need], Some(need));
                }
            }
            finish[position] = start.0 + durations[position];
            previous[position] = start.1;
            if best_so_far.1.is_none() || finish[position] > best_so_far.0 {
                best_so_far = (finish[position], Some(position));
            }
        }
        Self {
            finish,
            previous,
            durations,
        }
    }

    /// When the step at `position` finishes, counted from the start of the run.
    pub fn finish(&self, position: usize) -> Duration {
        self.finish[position]
    }

    /// When the step at `position` starts.
    pub fn start(&self, position: usize) -> Duration {
        self.finish[position].saturating_sub(self.durations[position])
    }

    /// The step that finishes last among `positions` (ties: the lowest position), with its
    /// finish time.
    pub fn last_of(&self, positions: impl IntoIterator<Item = usize>) -> Option<(usize, Duration)> {
        positions
            .into_iter()
            .map(|position| (position, self.finish[position]))
            .max_by_key(|&(position, finish)| (finish, std::cmp::Reverse(position)))
    }

    /// The step that finishes last of all, with its finish time.
    pub fn last(&self) -> Option<(usize, Duration)> {
        self.last_of(0..self.finish.len())
    }

    /// The chain of steps that `position` waited for, first to last, ending with `position`.
    /// Leading steps that take no time are left out: they add nothing to read.
    pub fn path_to(&self, position: usize) -> Vec<usize> {
        let mut path = vec![position];
        let mut current = position;
        while let Some(before) = self.previous[current] {
            path.push(before);
            current = before;
        }
        path.reverse();
        let first_real = path
            .iter()
            .position(|&step| self.durations[step] > Duration::ZERO)
            .unwrap_or(path.len());
        path.split_off(first_real)
    }

    /// The critical path of the whole graph and its length.
    pub fn critical_path(&self) -> (Vec<usize>, Duration) {
        match self.last() {
            Some((last, total)) => (self.path_to(last), total),
            None => (Vec::new(), Duration::ZERO),
        }
    }

    /// The end of `phase` (the last step of it or of any earlier phase to finish): the step and
    /// its finish time. `None` when the graph has no step in `phase` or before it.
    pub fn phase_end(&self, graph: &Graph, phase: u32) -> Option<(usize, Duration)> {
        self.last_of((0..graph.len()).filter(|&position| graph.step(position).phase <= phase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{StepId, StepSpec};

    fn step(id: &str, phase: u32, needs: &[&str]) -> StepSpec {
        StepSpec::for_test(id, phase, needs)
    }

    fn durations(graph: &Graph, minutes: &[(&str, u64)]) -> Vec<Duration> {
        let mut durations = vec![Duration::ZERO; graph.len()];
        for (id, minutes) in minutes {
            durations[graph.position(&StepId::from(*id)).expect("step")] =
                Duration::from_secs(minutes * 60);
        }
        durations
    }

    fn ids(graph: &Graph, path: &[usize]) -> Vec<String> {
        path.iter()
            .map(|&position| graph.step(position).id.to_string())
            .collect()
    }

    //   phase 1: z(0) ──> a(2) ──> b(10)      c(11)
    //   phase 2: d(1) ──> e(3)                 f(1)
    //   (minutes; phase 2 starts when all of phase 1 is done: b at 12, not c at 11)
    #[test]
    fn milestones_follow_needs_and_phase_barriers() {
        let graph = Graph::build(vec![
            step("z", 1, &[]),
            step("a", 1, &["z"]),
            step("b", 1, &["a"]),
            step("c", 1, &[]),
            step("d", 2, &[]),
            step("e", 2, &["d"]),
            step("f", 2, &[]),
        ])
        .expect("graph");
        let schedule = Schedule::of(
            &graph,
            &durations(
                &graph,
                &[("a", 2), ("b", 10), ("c", 11), ("d", 1), ("e", 3), ("f", 1)],
            ),
        );
        let minutes = |d: Duration| d.as_secs() / 60;
        // Phase 1 ends with b at 12 min (a 2 + b 10), not c at 11.
        let (end_1, at_1) = schedule.phase_end(&graph, 1).expect("phase 1");
        assert_eq!(minutes(at_1), 12);
        // The zero-length z is left out of the path.
        assert_eq!(ids(&graph, &schedule.path_to(end_1)), ["a", "b"]);
        // Phase 2 starts at the barrier: d 12→13, e 13→16, f 12→13.
        let (path, total) = schedule.critical_path();
        assert_eq!(minutes(total), 16);
        assert_eq!(ids(&graph, &path), ["a", "b", "d", "e"]);
        let f = graph.position(&StepId::from("f")).expect("f");
        assert_eq!(minutes(schedule.start(f)), 12);
        assert_eq!(minutes(schedule.finish(f)), 13);
        assert_eq!(schedule.phase_end(&graph, 0), None);
    }

    // Shortening one branch moves the critical path to the other.
    #[test]
    fn the_path_moves_to_the_longer_branch() {
        let graph = Graph::build(vec![
            step("x", 1, &[]),
            step("y", 1, &["x"]),
            step("w", 1, &[]),
        ])
        .expect("graph");
        let long = Schedule::of(&graph, &durations(&graph, &[("x", 5), ("y", 5), ("w", 7)]));
        assert_eq!(ids(&graph, &long.critical_path().0), ["x", "y"]);
        let short = Schedule::of(&graph, &durations(&graph, &[("x", 1), ("y", 5), ("w", 7)]));
        assert_eq!(ids(&graph, &short.critical_path().0), ["w"]);
        assert_eq!(short.critical_path().1, Duration::from_secs(7 * 60));
        let empty = Graph::build(Vec::new()).expect("empty graph");
        assert_eq!(Schedule::of(&empty, &[]).critical_path().1, Duration::ZERO);
    }
}
