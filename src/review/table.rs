//! The tables the human and markdown forms of a report are made of.

use super::Format;

/// A titled table; a report is a list of them, with headings between.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Lines printed under the table (what a mark means).
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            ..Table::default()
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

/// A block of a report: a heading (of a level) or a table or a line of text.
#[derive(Debug, Clone)]
pub enum Block {
    Heading(u8, String),
    Table(Table),
    Line(String),
}

/// The blocks as text in the human or markdown form.
pub fn write(blocks: &[Block], format: Format) -> String {
    let mut out = String::new();
    for block in blocks {
        match (block, format) {
            (Block::Heading(level, text), Format::Markdown) => {
                out.push_str(&format!("{} {text}\n\n", "#".repeat(usize::from(*level))));
            }
            (Block::Heading(1, text), _) => {
                out.push_str(&format!("{text}\n{}\n\n", "=".repeat(text.chars().count())));
            }
            (Block::Heading(_, text), _) => out.push_str(&format!("{text}\n\n")),
            (Block::Line(text), Format::Markdown) => out.push_str(&format!("{text}\n\n")),
            (Block::Line(text), _) => out.push_str(&format!("  {text}\n\n")),
            (Block::Table(t), Format::Markdown) => markdown_table(t, &mut out),
            (Block::Table(t), _) => human_table(t, &mut out),
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn human_table(t: &Table, out: &mut String) {
    if !t.title.is_empty() {
        out.push_str(&format!("  {}\n", t.title));
    }
    let columns = t.header.len();
    let mut widths: Vec<usize> = t.header.iter().map(|h| width(h)).collect();
    for row in &t.rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: &[String], out: &mut String| {
        let mut text = String::from("   ");
        for (i, cell) in cells.iter().enumerate().take(columns) {
            text.push(' ');
            text.push_str(cell);
            if i + 1 < columns {
                text.push_str(&" ".repeat(widths[i] - width(cell) + 1));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&t.header, out);
    for row in &t.rows {
        line(row, out);
    }
    for note in &t.notes {
        out.push_str(&format!("    {note}\n"));
    }
    out.push('\n');
}

/// A cell's text inside a Markdown table: pipes escaped, line breaks as spaces.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown_table(t: &Table, out: &mut String) {
    if !t.title.is_empty() {
        out.push_str(&format!("**{}**\n\n", cell(&t.title)));
    }
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&row(&t.header));
    out.push_str(&format!("|{}\n", "---|".repeat(t.header.len())));
    for r in &t.rows {
        out.push_str(&row(r));
    }
    out.push('\n');
    for note in &t.notes {
        out.push_str(&format!("{}\n\n", cell(note)));
    }
}
