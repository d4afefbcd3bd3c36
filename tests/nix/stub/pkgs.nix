# A fake `pkgs` (nix-offline.md §2.2): derivations are names with a fixed store path, and
# writeTextFile keeps its text and check phase so tests can read them. Nothing is built.
{ lib }:
let
  fakeDrv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    # So `buildRustPackage { … }` and friends also give a fake derivation.
    __functor = self: args: fakeDrv (args.pname or args.name or name);
  };
  pkgs = {
    inherit lib;
    callPackage =
      fn: args:
      let
        f = if builtins.isFunction fn then fn else import fn;
        auto = builtins.mapAttrs (n: _: pkgs'.${n} or (fakeDrv n)) (builtins.functionArgs f);
      in
      f (auto // args);
    writeTextFile =
      { name, text, ... }@a:
      {
        type = "derivation";
        inherit name text;
        outPath = "/nix/store/00000000000000000000000000000000-${name}";
        checkPhase = a.checkPhase or "";
      };
    writeText = name: text: pkgs'.writeTextFile { inherit name text; };
    writeShellScript = name: text: pkgs'.writeTextFile { inherit name text; };
    systemd = fakeDrv "systemd";
    stdenv =
      let
        p = {
          system = "x86_64-linux";
        };
      in
      {
        buildPlatform = p;
        hostPlatform = p;
        isLinux = true;
      };
    age = fakeDrv "age";
    rustPlatform.buildRustPackage = fakeDrv "keyward";
  };
  pkgs' = pkgs // {
    pkgs = pkgs';
    pkgsBuildHost = pkgs';
  };
in
pkgs'
