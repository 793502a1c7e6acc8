//! The run's DAG: built from resolved steps, validated once, then read-only ("sealed").
//!
//! Edges carry explicit `needs` only. Phase barriers (every step of phase N+1 waits for all of
//! phase N) are a rule of the graph, not edges: a full bipartite set of barrier edges would grow
//! quadratically with the inventory, while the rule costs nothing.

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use thiserror::Error;

use crate::step::{StepId, StepSpec};

/// Something that makes a set of steps unusable as a DAG.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    #[error("step id `{0}` is used by more than one step")]
    DuplicateId(StepId),
    #[error("step `{step}` needs `{missing}`, which is not a step of this run")]
    DanglingNeed { step: StepId, missing: StepId },
    #[error(
        "step `{step}` (phase {phase}) needs `{need}` of the later phase {need_phase}; phases run in order"
    )]
    NeedsLaterPhase {
        step: StepId,
        phase: u32,
        need: StepId,
        need_phase: u32,
    },
    #[error("dependency cycle: {}", render_cycle(.0))]
    Cycle(Vec<StepId>),
}

fn render_cycle(cycle: &[StepId]) -> String {
    let mut names: Vec<&str> = cycle.iter().map(StepId::as_str).collect();
    if let Some(first) = cycle.first() {
        names.push(first.as_str());
    }
    names.join(" needs ")
}

/// A validated DAG of steps. Node weights are indexes into `steps`.
#[derive(Debug)]
pub struct Graph {
    steps: Vec<StepSpec>,
    index: HashMap<StepId, usize>,
    dag: DiGraph<usize, ()>,
    /// Distinct phases in ascending order.
    phases: Vec<u32>,
    /// Steps in a topological order that also respects phases and, within that, ordinals.
    order: Vec<usize>,
}

impl Graph {
    /// Builds and validates the graph, reporting every problem found (not just the first).
    pub fn build(steps: Vec<StepSpec>) -> Result<Self, Vec<GraphError>> {
        let mut errors = Vec::new();
        let mut index = HashMap::with_capacity(steps.len());
        for (position, step) in steps.iter().enumerate() {
            // The first definition wins, so later references resolve the way a reader expects.
            if index.contains_key(&step.id) {
                errors.push(GraphError::DuplicateId(step.id.clone()));
            } else {
                index.insert(step.id.clone(), position);
            }
        }

        let mut dag = DiGraph::with_capacity(steps.len(), steps.len() * 2);
        for position in 0..steps.len() {
            dag.add_node(position);
        }
        for (position, step) in steps.iter().enumerate() {
            for need in &step.needs {
                match index.get(need) {
                    None => errors.push(GraphError::DanglingNeed {
                        step: step.id.clone(),
                        missing: need.clone(),
                    }),
                    Some(&need_position) => {
                        let need_phase = steps[need_position].phase;
                        if need_phase > step.phase {
                            errors.push(GraphError::NeedsLaterPhase {
                                step: step.id.clone(),
                                phase: step.phase,
                                need: need.clone(),
                                need_phase,
                            });
                        }
                        dag.add_edge(NodeIndex::new(need_position), NodeIndex::new(position), ());
                    }
                }
            }
        }

        let edges = steps.iter().enumerate().flat_map(|(position, step)| {
            step.needs
                .iter()
                .filter_map(|need| {
                    index
                        .get(need)
                        .map(|&need_position| (position, need_position))
                })
                .collect::<Vec<_>>()
        });
        for cycle in find_cycles(steps.len(), edges) {
            errors.push(GraphError::Cycle(
                cycle
                    .into_iter()
                    .map(|node| steps[node].id.clone())
                    .collect(),
            ));
        }

        if !errors.is_empty() {
            return Err(errors);
        }

        let mut phases: Vec<u32> = steps.iter().map(|step| step.phase).collect();
        phases.sort_unstable();
        phases.dedup();
        let order = topological_order(&steps, &dag);
        Ok(Self {
            steps,
            index,
            dag,
            phases,
            order,
        })
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn steps(&self) -> &[StepSpec] {
        &self.steps
    }

    pub fn step(&self, position: usize) -> &StepSpec {
        &self.steps[position]
    }

    pub fn position(&self, id: &StepId) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn get(&self, id: &StepId) -> Option<&StepSpec> {
        self.position(id).map(|position| &self.steps[position])
    }

    pub fn phases(&self) -> &[u32] {
        &self.phases
    }

    /// Step positions in execution order (phases ascending, dependencies first, then ordinal).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Positions of the steps that `position` explicitly needs.
    pub fn needs_of(&self, position: usize) -> impl Iterator<Item = usize> + '_ {
        self.dag
            .neighbors_directed(NodeIndex::new(position), Direction::Incoming)
            .map(|node| self.dag[node])
    }

    /// Positions of the steps that explicitly need `position`.
    pub fn dependents_of(&self, position: usize) -> impl Iterator<Item = usize> + '_ {
        self.dag
            .neighbors_directed(NodeIndex::new(position), Direction::Outgoing)
            .map(|node| self.dag[node])
    }

    /// Every step that depends on `position`, directly, transitively, or through a phase barrier.
    pub fn downstream_of(&self, position: usize) -> Vec<usize> {
        let phase = self.steps[position].phase;
        let mut seen = vec![false; self.steps.len()];
        let mut stack = vec![position];
        while let Some(current) = stack.pop() {
            for next in self.dependents_of(current) {
                if !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
        for (other, step) in self.steps.iter().enumerate() {
            if step.phase > phase {
                seen[other] = true;
            }
        }
        seen[position] = false;
        seen.iter()
            .enumerate()
            .filter_map(|(other, &marked)| marked.then_some(other))
            .collect()
    }
}

/// Kahn's algorithm, taking among the ready steps the lowest (phase, ordinal, id) first, so that
/// the order is deterministic and reads like the phase files.
fn topological_order(steps: &[StepSpec], dag: &DiGraph<usize, ()>) -> Vec<usize> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let key = |position: usize| {
        let step = &steps[position];
        Reverse((step.phase, step.ordinal, step.id.clone(), position))
    };
    let mut remaining: Vec<usize> = (0..steps.len())
        .map(|position| {
            dag.neighbors_directed(NodeIndex::new(position), Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<_> = (0..steps.len())
        .filter(|&position| remaining[position] == 0)
        .map(key)
        .collect();
    let mut order = Vec::with_capacity(steps.len());
    while let Some(Reverse((_, _, _, position))) = ready.pop() {
        order.push(position);
        for next in dag.neighbors_directed(NodeIndex::new(position), Direction::Outgoing) {
            let next = dag[next];
            remaining[next] -= 1;
            if remaining[next] == 0 {
                ready.push(key(next));
            }
        }
    }
    order
}

/// Finds one concrete cycle per strongly connected component that has one.
///
/// `edges` are `(from, to)` pairs meaning "from needs to". Each returned cycle lists nodes in
/// "needs" order: every node needs the next, and the last needs the first. Shared with the input
/// validation, which runs it on phase-file step templates to point at file and line.
pub fn find_cycles(
    node_count: usize,
    edges: impl IntoIterator<Item = (usize, usize)>,
) -> Vec<Vec<usize>> {
    let mut graph = DiGraph::<usize, ()>::with_capacity(node_count, node_count);
    for node in 0..node_count {
        graph.add_node(node);
    }
    let mut self_loops = Vec::new();
    for (from, to) in edges {
        if from == to {
            self_loops.push(vec![from]);
        } else {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
        }
    }
    let mut cycles = self_loops;
    for component in tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let members: std::collections::HashSet<NodeIndex> = component.iter().copied().collect();
        let start = *component
            .iter()
            .min()
            .expect("component has at least two nodes");
        let mut path = vec![start];
        let mut position_in_path = HashMap::from([(start, 0usize)]);
        let mut current = start;
        loop {
            // Every member of a strongly connected component has an edge to another member.
            let next = graph
                .neighbors(current)
                .filter(|node| members.contains(node))
                .min()
                .expect("a member of a cycle has a successor inside it");
            if let Some(&at) = position_in_path.get(&next) {
                let cycle = path[at..].iter().map(|node| graph[*node]).collect();
                cycles.push(cycle);
                break;
            }
            position_in_path.insert(next, path.len());
            path.push(next);
            current = next;
        }
    }
    cycles.sort();
    cycles
}

#[cfg(test)]
mod tests {

    use super::*;

    fn step(id: &str, phase: u32, ordinal: u32, needs: &[&str]) -> StepSpec {
        StepSpec {
            number: ordinal.to_string(),
            ordinal,
            kind: "noop".to_owned(),
            ..StepSpec::for_test(id, phase, needs)
        }
    }

    //   a ──> b ──> d        (phase 1)
    //   └───> c ──┘
    //   e                    (phase 2, barrier after all of phase 1)
    #[test]
    fn orders_dependencies_before_dependents_and_phases_in_sequence() {
        let graph = Graph::build(vec![
            step("e", 2, 5, &[]),
            step("d", 1, 4, &["b", "c"]),
            step("c", 1, 3, &["a"]),
            step("b", 1, 2, &["a"]),
            step("a", 1, 1, &[]),
        ])
        .expect("valid graph");
        let ids: Vec<&str> = graph
            .order()
            .iter()
            .map(|&position| graph.step(position).id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e"]);
        let a = graph.position(&"a".into()).expect("a exists");
        let mut downstream: Vec<&str> = graph
            .downstream_of(a)
            .into_iter()
            .map(|position| graph.step(position).id.as_str())
            .collect();
        downstream.sort_unstable();
        assert_eq!(downstream, ["b", "c", "d", "e"]);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let errors = Graph::build(vec![
            step("a", 1, 1, &["b"]),
            step("b", 1, 2, &["c"]),
            step("c", 1, 3, &["a"]),
            step("c", 1, 4, &[]),
            step("d", 1, 5, &["ghost", "e"]),
            step("e", 2, 6, &[]),
        ])
        .expect_err("invalid graph");
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(messages.contains(&"step id `c` is used by more than one step".to_owned()));
        assert!(
            messages
                .contains(&"step `d` needs `ghost`, which is not a step of this run".to_owned())
        );
        assert!(messages.contains(
            &"step `d` (phase 1) needs `e` of the later phase 2; phases run in order".to_owned()
        ));
        assert!(
            messages
                .iter()
                .any(|message| message.starts_with("dependency cycle: ")),
            "{messages:?}"
        );
    }

    //   x ──> y ──> z ──> x
    #[test]
    fn names_the_cycle_in_needs_order() {
        // Edges are "from needs to": x needs y, y needs z, z needs x.
        let cycles = find_cycles(3, [(0, 1), (1, 2), (2, 0)]);
        assert_eq!(cycles, vec![vec![0, 1, 2]]);
        assert_eq!(find_cycles(1, [(0, 0)]), vec![vec![0]]);
        assert!(find_cycles(3, [(0, 1), (1, 2)]).is_empty());
    }
}
