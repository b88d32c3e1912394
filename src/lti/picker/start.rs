//! The picker's first screen: what the launch said about the content wanted (deep-linking
//! `title`/`text`) and about the course (its title naming a grade: "Grade 3 Mathematics",
//! "3rd Grade Science", "Matemáticas 3.er grado") becomes a starting query and grade filter.
//!
//! Each guess is only a start: the page says what it started from and offers everything.
//! Guesses are tried from the most specific down, and the first that finds resources wins,
//! so the first screen is never empty because of a guess.

use crate::catalog::vocab::grades_from_level;
use crate::resource::GradeRange;

/// Longest starting query taken from the launch.
const MAX_START_QUERY_CHARS: usize = 80;

/// One guess at a starting point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub query: Option<String>,
    pub grades: Option<GradeRange>,
}

/// What the launch carried that the first screen may start from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchHints {
    /// `deep_linking_settings.title`, else `.text`.
    pub requested_text: Option<String>,
    /// The context claim's course title.
    pub course_title: Option<String>,
}

impl LaunchHints {
    pub fn new(title: Option<&str>, text: Option<&str>, course_title: Option<&str>) -> Self {
        let clean = |raw: Option<&str>| {
            raw.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|t| !t.is_empty())
                .map(|t| t.chars().take(MAX_START_QUERY_CHARS).collect::<String>())
        };
        Self { requested_text: clean(title).or_else(|| clean(text)), course_title: clean(course_title) }
    }

    /// The guesses to try in order (the last one is always "everything").
    pub fn candidates(&self) -> Vec<Start> {
        let course = self.course_title.as_deref().map(grades_in_title);
        let grades = course.as_ref().and_then(|(grades, _)| *grades);
        let course_words = course.and_then(|(_, rest)| Some(rest).filter(|r| !r.is_empty()));
        let query = self.requested_text.clone().or(course_words);
        let mut out: Vec<Start> = Vec::new();
        let mut push = |start: Start| {
            if !out.contains(&start) {
                out.push(start);
            }
        };
        if query.is_some() && grades.is_some() {
            push(Start { query: query.clone(), grades });
        }
        if query.is_some() {
            push(Start { query: query.clone(), grades: None });
        }
        if grades.is_some() {
            push(Start { query: None, grades });
        }
        push(Start { query: None, grades: None });
        out
    }
}

/// The grade a course title names and the title without it ("Grade 3 Mathematics" →
/// grade 3, "Mathematics"). Looks at runs of up to three words, longest first.
pub fn grades_in_title(title: &str) -> (Option<GradeRange>, String) {
    let words: Vec<String> = title
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '(' | ')' | '|' | '/' | '–' | '—'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    for width in (1..=3).rev() {
        for start in 0..words.len().saturating_sub(width - 1) {
            let run = &words[start..start + width];
            // A lone number ("Algebra 2", "Unit 4") names no grade.
            if width == 1 && !is_level_word(&run[0]) {
                continue;
            }
            if let Some(grades) = grades_from_level(&english_grade_words(&run.join(" "))) {
                let rest: Vec<&str> = words
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < start || *i >= start + width)
                    .map(|(_, w)| w.as_str())
                    .collect();
                return (
                    Some(grades),
                    rest.join(" ").trim_matches(|c: char| c == '-' || c.is_whitespace()).to_string(),
                );
            }
        }
    }
    (None, words.join(" "))
}

/// Single words that name a level on their own ("Kindergarten", "Pre-K", "K-2", "6-8").
fn is_level_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    matches!(lower.as_str(), "kindergarten" | "kinder" | "kínder" | "pre-k" | "prek" | "preschool" | "preescolar")
        || (lower.contains('-') && lower.chars().any(|c| c.is_ascii_digit()))
}

/// Spanish grade words as the vocabulary's English ("3.er grado" → "3rd grade").
fn english_grade_words(run: &str) -> String {
    let lower = run.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for word in lower.split_whitespace() {
        let word = match word {
            "grado" | "grados" | "curso" => "grade".to_string(),
            "kínder" | "kinder" | "preescolar" => {
                if word == "preescolar" {
                    "pre-k".to_string()
                } else {
                    "kindergarten".to_string()
                }
            }
            other => {
                // 3.º, 3º, 3er, 3.er, 3ro, 3o
                let digits: String = other.chars().take_while(|c| c.is_ascii_digit()).collect();
                let suffix = &other[digits.len()..];
                if !digits.is_empty()
                    && matches!(suffix, ".º" | "º" | "°" | ".°" | "er" | ".er" | "ro" | "o" | ".o" | "do" | "to")
                {
                    digits
                } else {
                    other.to_string()
                }
            }
        };
        out.push(word);
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_grades_in_course_titles() {
        let cases = [
            ("Grade 3 Mathematics", Some((3, 3)), "Mathematics"),
            ("3rd Grade Science", Some((3, 3)), "Science"),
            ("Biology - High School", Some((9, 12)), "Biology"),
            ("Kindergarten Reading", Some((0, 0)), "Reading"),
            ("Matemáticas 3.er grado", Some((3, 3)), "Matemáticas"),
            ("Ciencias, grado 5", Some((5, 5)), "Ciencias"),
            ("Grades 6-8 ELA", Some((6, 8)), "ELA"),
            ("Algebra 2", None, "Algebra 2"),
            ("Unit 4: Fractions", None, "Unit 4 Fractions"),
        ];
        for (title, expected, rest) in cases {
            let (grades, remainder) = grades_in_title(title);
            assert_eq!(grades.map(|g| (g.min, g.max)), expected, "{title}");
            assert_eq!(remainder, rest, "{title}");
        }
    }

    #[test]
    fn test_candidates_go_from_specific_to_everything() {
        let hints = LaunchHints::new(Some("  fractions  "), Some("ignored"), Some("Grade 3 Mathematics"));
        let grade3 = Some(GradeRange::single(3));
        assert_eq!(
            hints.candidates(),
            vec![
                Start { query: Some("fractions".into()), grades: grade3 },
                Start { query: Some("fractions".into()), grades: None },
                Start { query: None, grades: grade3 },
                Start { query: None, grades: None },
            ]
        );
        let course_only = LaunchHints::new(None, Some(""), Some("Grade 3 Mathematics"));
        assert_eq!(course_only.candidates()[0], Start { query: Some("Mathematics".into()), grades: grade3 });
        assert_eq!(LaunchHints::default().candidates(), vec![Start { query: None, grades: None }]);
    }
}
