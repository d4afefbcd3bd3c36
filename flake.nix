{
  description = "keyward: secrets management for NixOS, a drop-in successor to sops-nix";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
    # Only for the home-manager check; users' flakes need not follow it.
    home-manager = {
      url = "github:nix-community/home-manager";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      home-manager,
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = lib.genAttrs systems;
      # The offline tier overrides nixpkgs with nixpkgs' lib-only flake, which has no
      # legacyPackages and no nixosSystem: outputs that need them are empty there instead of
      # throwing (a throwing `packages` breaks every `nix eval .#…`).
      full = nixpkgs ? legacyPackages;
      pkgsFor =
        system:
        import nixpkgs {
          inherit system;
          overlays = [ self.overlays.default ];
        };

      # A check that is a plain /bin/sh derivation: module evaluation tests need no stdenv.
      mkCheck =
        system: name: result:
        if result == true then
          builtins.derivation {
            inherit system;
            name = "keyward-module-${builtins.replaceStrings [ " " ":" "'" "/" "," "(" ")" ] [ "-" "" "" "-" "" "" "" ] name}";
            builder = "/bin/sh";
            args = [
              "-c"
              "echo passed > $out"
            ];
          }
        else
          throw "module test '${name}' failed: ${result}";
      moduleChecks =
        system:
        lib.mapAttrs' (name: result: {
          name = "module-${builtins.replaceStrings [ " " ":" "'" "/" "," "(" ")" ] [ "-" "" "" "-" "" "" "" ] name}";
          value = mkCheck system name result;
        }) (import ./tests/nix/module-eval.nix { inherit lib; });

      # checks/<scenario>/default.nix: one NixOS VM test each.
      vmChecks =
        system:
        let
          pkgs = pkgsFor system;
          dirs = lib.filterAttrs (_: type: type == "directory") (builtins.readDir ./checks);
        in
        lib.mapAttrs (
          name: _:
          import (./checks + "/${name}") {
            inherit pkgs self home-manager;
          }
        ) dirs;
    in
    {
      overlays.default = final: _prev: {
        keyward = final.callPackage ./package.nix { };
      };

      packages = forAllSystems (
        system:
        lib.optionalAttrs full (
          let
            pkgs = pkgsFor system;
          in
          {
            keyward = pkgs.keyward;
            default = pkgs.keyward;
          }
        )
      );

      nixosModules.keyward =
        { pkgs, ... }:
        {
          imports = [ ./modules/nixos ];
          sops.package = lib.mkDefault (
            self.packages.${pkgs.stdenv.hostPlatform.system}.keyward or (pkgs.callPackage ./package.nix { })
          );
        };
      nixosModules.default = self.nixosModules.keyward;

      homeManagerModules.keyward =
        { pkgs, ... }:
        {
          imports = [ ./modules/home-manager ];
          sops.package = lib.mkDefault (
            self.packages.${pkgs.stdenv.hostPlatform.system}.keyward or (pkgs.callPackage ./package.nix { })
          );
        };
      homeManagerModules.default = self.homeManagerModules.keyward;

      nixosConfigurations = lib.optionalAttrs (lib ? nixosSystem) {
        example = lib.nixosSystem {
          system = "x86_64-linux";
          modules = [
            self.nixosModules.default
            ./hosts/example
          ];
        };
      };

      checks = forAllSystems (
        system:
        moduleChecks system
        // lib.optionalAttrs full (
          {
            package = self.packages.${system}.keyward;
          }
          // vmChecks system
        )
      );

      devShells = forAllSystems (
        system:
        lib.optionalAttrs full (
          let
            pkgs = pkgsFor system;
          in
          {
            default = pkgs.mkShell {
              inputsFrom = [ pkgs.keyward ];
              packages = [
                pkgs.age
                pkgs.sops
                pkgs.ssh-to-age
                pkgs.nixfmt
                pkgs.clippy
                pkgs.rustfmt
              ];
            };
          }
        )
      );

      formatter = lib.optionalAttrs full (forAllSystems (system: (pkgsFor system).nixfmt));
    };
}
