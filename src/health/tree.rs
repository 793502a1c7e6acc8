//! A tree drawn with box-drawing branches, as `genesis describe` shows a step's objects.

/// One line of the tree and what hangs below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub label: String,
    pub children: Vec<Tree>,
}

impl Tree {
    pub fn leaf(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            children: Vec::new(),
        }
    }

    pub fn with(label: impl Into<String>, children: Vec<Tree>) -> Self {
        Self {
            label: label.into(),
            children,
        }
    }

    /// The tree as text: the root on the first line, each child below its parent after `├─ `
    /// or (the last one) `└─ `, deeper levels indented by `│  ` or spaces. Every label is
    /// sanitized for the terminal: a newline in it cannot forge a line of the tree.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&crate::ui::term::line(&self.label));
        out.push('\n');
        draw(&self.children, "", &mut out);
        out
    }
}

fn draw(children: &[Tree], prefix: &str, out: &mut String) {
    for (index, child) in children.iter().enumerate() {
        let last = index + 1 == children.len();
        out.push_str(prefix);
        out.push_str(if last { "└─ " } else { "├─ " });
        out.push_str(&crate::ui::term::line(&child.label));
        out.push('\n');
        let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
        draw(&child.children, &deeper, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_and_indentation_follow_the_nesting() {
        let tree = Tree::with(
            "machine m",
            vec![
                Tree::with(
                    "step a",
                    vec![
                        Tree::with("Hardware h", vec![Tree::leaf("Ready=True")]),
                        Tree::leaf("Secret s"),
                    ],
                ),
                Tree::with("step b", vec![Tree::leaf("Node n")]),
            ],
        );
        let expected = [
            "machine m",
            "├─ step a",
            "│  ├─ Hardware h",
            "│  │  └─ Ready=True",
            "│  └─ Secret s",
            "└─ step b",
            "   └─ Node n",
        ];
        assert_eq!(tree.render(), expected.join("\n") + "\n");
    }

    #[test]
    fn a_label_cannot_forge_a_line() {
        let tree = Tree::with("root", vec![Tree::leaf("x\n└─ forged")]);
        assert_eq!(tree.render().lines().count(), 2);
    }
}
