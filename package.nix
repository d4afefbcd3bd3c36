# The keyward package. `pkgs.callPackage ./package.nix { }` works from any nixpkgs; the flake's
# overlay exposes it as pkgs.keyward, which the modules' `sops.package` default picks up.
{
  lib,
  stdenv,
  rustPlatform,
  installShellFiles,
}:
let
  manifest = builtins.fromTOML (builtins.readFile ./Cargo.toml);
  # Only what cargo needs: a change to the Nix files, docs or checks must not rebuild the
  # binary. (cleanSourceWith, not the newer file-set library: the offline tier runs Nix 2.8.)
  rustOnly =
    path: type:
    let
      rel = lib.removePrefix (toString ./. + "/") (toString path);
      top = builtins.head (lib.splitString "/" rel);
    in
    builtins.elem top [
      "Cargo.toml"
      "Cargo.lock"
      "src"
      "crates"
      "tests"
      "benches"
      "examples"
      "build.rs"
    ]
    && !(lib.hasPrefix "tests/nix" rel);
in
rustPlatform.buildRustPackage {
  pname = "keyward";
  inherit (manifest.package) version;

  src = lib.cleanSourceWith {
    src = lib.cleanSource ./.;
    filter = rustOnly;
    name = "keyward-source";
  };

  cargoLock.lockFile = ./Cargo.lock;

  nativeBuildInputs = [ installShellFiles ];

  # The whole workspace's tests run in checkPhase (cargoCheckHook). Tiers that need tools
  # missing from the sandbox (the real sops, ../shared/fixtures) skip themselves.
  doCheck = true;
  cargoTestFlags = [ "--workspace" ];

  # Completions and the man page come from the binary's own clap definition.
  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    installShellCompletion --cmd keyward \
      --bash <($out/bin/keyward completions bash) \
      --fish <($out/bin/keyward completions fish) \
      --zsh <($out/bin/keyward completions zsh)
    $out/bin/keyward man > keyward.1
    installManPage keyward.1
  '';

  meta = {
    description = manifest.package.description;
    homepage = "https://github.com/keyward/keyward";
    license = lib.licenses.mit;
    mainProgram = "keyward";
    platforms = lib.platforms.linux;
  };
}
