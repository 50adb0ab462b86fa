//! Where a thing came from: a file, a line, a column. Below errors and templates,
//! which both name places.

use std::path::PathBuf;

/// A place in a user's file. `line` and `column` are 1-based; 0 means unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    pub line: u32,
    pub column: u32,
}

impl Place {
    pub fn new(path: impl Into<PathBuf>, line: u32, column: u32) -> Self {
        Place {
            path: path.into(),
            line,
            column,
        }
    }

    /// A place that names only the file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Place::new(path, 0, 0)
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_display_omits_unknown_parts() {
        assert_eq!(Place::file("a.yaml").to_string(), "a.yaml");
        assert_eq!(Place::new("a.yaml", 3, 0).to_string(), "a.yaml:3");
        assert_eq!(Place::new("a.yaml", 3, 7).to_string(), "a.yaml:3:7");
    }
}
