import ArgumentParser
import Foundation

/// Options every command that touches the catalog, the journal or the local model takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("A TOML file with providers, models, [defaults] and [engine] (overrides the built-in catalog).", valueName: "FILE"))
    var config: String?

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Where the journal and the local model live (default: $YMERA_HOME, else $XDG_DATA_HOME/ymera).", valueName: "DIR"))
    var dataDir: String?
}
