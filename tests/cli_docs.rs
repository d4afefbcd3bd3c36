//! Completions and the man page come from the same clap definition as `--help`.

use std::process::Command;

fn keyward(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out) = keyward(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        for sub in ["decrypt", "install", "check"] {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
    }
}

#[test]
fn the_man_page_names_the_commands_and_exit_codes() {
    let (code, out) = keyward(&["man"]);
    assert_eq!(code, 0);
    assert!(out.starts_with(".ie \\n(.g .ds Aq"), "roff output");
    assert!(out.contains(".TH keyward 1"));
    for needle in ["decrypt", "install", "check", "Exit status"] {
        assert!(out.contains(needle), "man page lacks {needle}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let (code, _) = keyward(&["completions", "cmd.exe"]);
    assert_eq!(code, 2);
}
