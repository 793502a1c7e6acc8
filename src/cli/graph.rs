//! `genesis graph`: the step DAG as Graphviz dot or Mermaid, on stdout.
//!
//! Phase barriers are drawn through one small node per phase boundary, so the picture stays
//! linear in size even for large inventories.

use std::fmt::Write as _;

use clap::{Args, ValueEnum};
use genesis_engine::Graph;

use super::common::Common;
use super::error::CliResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = GraphFormat::Dot)]
    pub output: GraphFormat,
}

pub fn run(args: GraphArgs, common: &Common) -> CliResult {
    let inputs = common.load_inputs()?;
    let names: Vec<(u32, String)> = inputs
        .phases
        .iter()
        .map(|phase| (phase.number, phase.name.clone()))
        .collect();
    let text = match args.output {
        GraphFormat::Dot => to_dot(&inputs.graph, &names),
        GraphFormat::Mermaid => to_mermaid(&inputs.graph, &names),
    };
    crate::out!("{text}");
    Ok(())
}

/// For each phase boundary: the steps of the earlier phase nothing in that phase depends on
/// (its sinks) and the steps of the later phase that need nothing in it (its sources).
fn barriers(graph: &Graph) -> Vec<(u32, Vec<usize>, Vec<usize>)> {
    let phases = graph.phases();
    phases
        .windows(2)
        .map(|pair| {
            let (before, after) = (pair[0], pair[1]);
            let sinks = graph
                .order()
                .iter()
                .copied()
                .filter(|&position| graph.step(position).phase == before)
                .filter(|&position| {
                    graph
                        .dependents_of(position)
                        .all(|next| graph.step(next).phase != before)
                })
                .collect();
            let sources = graph
                .order()
                .iter()
                .copied()
                .filter(|&position| graph.step(position).phase == after)
                .filter(|&position| {
                    graph
                        .needs_of(position)
                        .all(|need| graph.step(need).phase != after)
                })
                .collect();
            (after, sinks, sources)
        })
        .collect()
}

fn node_name(position: usize) -> String {
    format!("s{position}")
}

fn label(graph: &Graph, position: usize) -> String {
    let step = graph.step(position);
    format!("{} {}\\n{}", step.number, step.name, step.kind).replace('"', "'")
}

pub fn to_dot(graph: &Graph, phases: &[(u32, String)]) -> String {
    let mut out = String::from(
        "digraph genesis {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n",
    );
    for (number, name) in phases {
        let _ = writeln!(
            out,
            "  subgraph cluster_phase_{number} {{\n    label=\"Phase {number}: {}\";",
            name.replace('"', "'")
        );
        for &position in graph.order() {
            if graph.step(position).phase == *number {
                let _ = writeln!(
                    out,
                    "    {} [label=\"{}\"];",
                    node_name(position),
                    label(graph, position)
                );
            }
        }
        out.push_str("  }\n");
    }
    for &position in graph.order() {
        for need in graph.needs_of(position) {
            let _ = writeln!(out, "  {} -> {};", node_name(need), node_name(position));
        }
    }
    for (phase, sinks, sources) in barriers(graph) {
        let _ = writeln!(
            out,
            "  barrier_{phase} [shape=point, label=\"\", xlabel=\"phase {phase}\"];"
        );
        for sink in sinks {
            let _ = writeln!(
                out,
                "  {} -> barrier_{phase} [style=dashed];",
                node_name(sink)
            );
        }
        for source in sources {
            let _ = writeln!(
                out,
                "  barrier_{phase} -> {} [style=dashed];",
                node_name(source)
            );
        }
    }
    out.push_str("}\n");
    out
}

pub fn to_mermaid(graph: &Graph, phases: &[(u32, String)]) -> String {
    let mut out = String::from("flowchart LR\n");
    for (number, name) in phases {
        let _ = writeln!(
            out,
            "  subgraph phase_{number}[\"Phase {number}: {}\"]",
            name.replace('"', "'")
        );
        for &position in graph.order() {
            if graph.step(position).phase == *number {
                let text = label(graph, position).replace("\\n", "<br/>");
                let _ = writeln!(out, "    {}[\"{}\"]", node_name(position), text);
            }
        }
        out.push_str("  end\n");
    }
    for &position in graph.order() {
        for need in graph.needs_of(position) {
            let _ = writeln!(out, "  {} --> {}", node_name(need), node_name(position));
        }
    }
    for (phase, sinks, sources) in barriers(graph) {
        let _ = writeln!(out, "  barrier_{phase}((phase {phase}))");
        for sink in sinks {
            let _ = writeln!(out, "  {} -.-> barrier_{phase}", node_name(sink));
        }
        for source in sources {
            let _ = writeln!(out, "  barrier_{phase} -.-> {}", node_name(source));
        }
    }
    out
}
