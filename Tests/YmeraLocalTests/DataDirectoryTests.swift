import Testing
@testable import YmeraLocal

@Suite("Data directory rule")
struct DataDirectoryTests {
    @Test func ymeraHomeWins() {
        let env = ["YMERA_HOME": "/srv/ymera", "XDG_DATA_HOME": "/x/data", "HOME": "/home/u"]
        #expect(YmeraDataDirectory.resolve(environment: env) == "/srv/ymera")
    }

    @Test func xdgDataHomeNext() {
        #expect(YmeraDataDirectory.resolve(environment: ["XDG_DATA_HOME": "/x/data", "HOME": "/home/u"]) == "/x/data/ymera")
    }

    @Test func relativeXdgIsIgnoredAsTheSpecSays() {
        #expect(
            YmeraDataDirectory.resolve(environment: ["XDG_DATA_HOME": "rel/data", "HOME": "/home/u"])
                == "/home/u/.local/share/ymera")
    }

    @Test func homeFallback() {
        #expect(YmeraDataDirectory.resolve(environment: ["HOME": "/home/u"]) == "/home/u/.local/share/ymera")
    }

    @Test func commandLineOptionWinsAndTildeExpands() {
        let env = ["YMERA_HOME": "/srv/ymera", "HOME": "/home/u"]
        #expect(YmeraDataDirectory.resolve(option: "~/d", environment: env) == "/home/u/d")
        #expect(YmeraDataDirectory.resolve(option: nil, environment: env) == "/srv/ymera")
    }

    @Test func layoutKeepsEverythingUnderLocal() {
        let layout = LocalLayout(dataDirectory: "/d")
        #expect(layout.venvPython == "/d/local/venv/bin/python")
        #expect(layout.stateFile == "/d/local/server.json")
        #expect(layout.modelFile(.smolLM2) == "/d/local/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    }
}
