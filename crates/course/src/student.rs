//! A student, named by whatever the course uses (a matriculation number, a
//! login), and the one rule that turns a name into numbers: a pinned
//! 64-bit FNV-1a hash, so the same student gets the same variant on every
//! machine and in every version of the kit that keeps this rule.

use std::fmt;

use crate::CourseError;

/// The longest student ID taken.
pub const MAX_ID: usize = 64;

/// A student's ID: 1 to 64 letters, digits, `.`, `_` or `-` (it becomes
/// part of file names and of the HTML report, so nothing else is taken),
/// kept in lower case: `AB123` and `ab123` are one student.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Student(String);

impl Student {
    pub fn new(id: &str) -> Result<Student, CourseError> {
        let id = id.trim();
        let bad = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)));
        match (id.len(), bad) {
            (0, _) => Err(CourseError::Student("an empty student ID".into())),
            (n, _) if n > MAX_ID => Err(CourseError::Student(format!(
                "student ID '{}…' is longer than {MAX_ID} characters",
                &id[..id.char_indices().nth(16).map_or(id.len(), |(i, _)| i)]
            ))),
            (_, Some(c)) => Err(CourseError::Student(format!(
                "student ID '{id}' has {c:?}: use letters, digits, '.', '_' and '-'"
            ))),
            _ => Ok(Student(id.to_ascii_lowercase())),
        }
    }

    pub fn id(&self) -> &str {
        &self.0
    }

    /// A number for `purpose` (`"seed:framing"`, `"port"`): the FNV-1a hash
    /// of `streamlab-variant/1`, the purpose and the ID, each ended by a 0
    /// byte, then MurmurHash3's 64-bit finaliser (FNV's low bits depend
    /// only on the inputs' low bits, so IDs that differ in one digit would
    /// pick alike). Changing this changes every student's variant: don't.
    pub fn number(&self, purpose: &str) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in ["streamlab-variant/1", purpose, &self.0] {
            for &b in part.as_bytes().iter().chain(&[0u8]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    /// One of `choices`, picked by [`Student::number`].
    pub fn pick<T: Copy>(&self, purpose: &str, choices: &[T]) -> T {
        let i = self.number(purpose) % choices.len().max(1) as u64;
        choices[i as usize]
    }
}

impl fmt::Display for Student {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert_eq!(
            Student::new(" 2023-0042 ").map(|s| s.0),
            Ok("2023-0042".into())
        );
        assert!(Student::new("").is_err());
        assert!(Student::new("a b").unwrap_err().to_string().contains("' '"));
        assert!(Student::new("<script>").is_err());
        assert!(Student::new(&"x".repeat(65)).is_err());
        assert!(Student::new(&"x".repeat(64)).is_ok());
        assert_eq!(Student::new("AB123"), Student::new("ab123"));
    }

    #[test]
    fn numbers_are_pinned_and_differ() {
        let a = Student::new("2023-0042").expect("an ID");
        // The rule is pinned: these values must never change.
        assert_eq!(a.number("port"), a.number("port"));
        let first = Student::new("a").expect("an ID").number("");
        assert_eq!(first, 0x039c_8180_d4cf_0fff, "{first:#x}");
        assert_ne!(a.number("port"), a.number("seed:lossy"));
        let b = Student::new("2023-0043").expect("an ID");
        assert_ne!(a.number("port"), b.number("port"));
    }
}
