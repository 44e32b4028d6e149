import Testing
import YmeraCore
@testable import YmeraConfig

@Suite("[mcp.servers.NAME] in the config file")
struct MCPConfigTests {
    func load(_ text: String) throws(ConfigError) -> LoadedConfig {
        try ConfigLoader.load(documents: [ConfigDocument(text: text, file: "config.toml")])
    }

    func error(_ text: String) -> ConfigError? {
        do {
            _ = try load(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("a full entry and a minimal one are read, with defaults")
    func parse() throws {
        let c = try load("""
            [mcp.servers.files]
            command = "npx"
            args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
            phases = ["research", "review"]
            call_timeout_ms = 5000
            max_calls = 3

            [mcp.servers.files.env]
            NODE_ENV = "production"

            [mcp.servers.web]
            command = "/usr/local/bin/web-mcp"
            """)
        #expect(c.mcpServers.count == 2)
        let files = try #require(c.mcpServers.first { $0.name == "files" })
        #expect(files.command == "npx")
        #expect(files.args == ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"])
        #expect(files.env == ["NODE_ENV": "production"])
        #expect(files.phases == [.research, .review])
        #expect(files.callTimeoutMs == 5000)
        #expect(files.maxCalls == 3)
        let web = try #require(c.mcpServers.first { $0.name == "web" })
        #expect(web.args.isEmpty)
        #expect(web.phases == [.research, .generation])
        #expect(web.callTimeoutMs == 20_000)
        #expect(web.maxCalls == 8)
    }

    @Test("no [mcp] table: no servers")
    func none() throws {
        #expect(try load("[defaults]\nstrategy = \"single\"\n").mcpServers.isEmpty)
    }

    @Test("a broken entry is an error naming the file, the line, the server and the key")
    func errors() {
        let missing = error("""
            [mcp.servers.files]
            args = ["x"]
            """)
        #expect(missing?.key == "mcp.servers.files.command")
        #expect(missing?.message.contains("'files'") == true)
        #expect(missing?.description.hasPrefix("config.toml:") == true)

        let phase = error("""
            [mcp.servers.files]
            command = "x"
            phases = ["research", "writing"]
            """)
        #expect(phase?.key == "mcp.servers.files.phases")
        #expect(phase?.line == 3)
        #expect(phase?.message.contains("'writing' is not a phase") == true)

        let unknown = error("""
            [mcp.servers.files]
            command = "x"
            timeout = 5
            """)
        #expect(unknown?.key == "mcp.servers.files.timeout")
        #expect(unknown?.message.contains("allowed here") == true)

        let range = error("""
            [mcp.servers.files]
            command = "x"
            call_timeout_ms = 0
            """)
        #expect(range?.key == "mcp.servers.files.call_timeout_ms")
        #expect(range?.message.contains("out of range") == true)

        let env = error("""
            [mcp.servers.files]
            command = "x"
            env = { DEBUG = 1 }
            """)
        #expect(env?.key == "mcp.servers.files.env.DEBUG")
        #expect(env?.message.contains("'files'") == true)

        let args = error("""
            [mcp.servers.files]
            command = "x"
            args = "--verbose"
            """)
        #expect(args?.key == "mcp.servers.files.args")

        let name = error("""
            [mcp.servers."my server"]
            command = "x"
            """)
        #expect(name?.message.contains("the name must be") == true)

        let notTable = error("""
            [mcp]
            servers = 3
            """)
        #expect(notTable?.key == "mcp.servers")

        let empty = error("""
            [mcp.servers.files]
            command = "  "
            """)
        #expect(empty?.message.contains("empty") == true)
    }

    @Test("a later file replaces a server of the same name")
    func override() throws {
        let a = try ConfigDocument(text: "[mcp.servers.files]\ncommand = \"a\"\n", file: "a.toml")
        let b = try ConfigDocument(text: "[mcp.servers.files]\ncommand = \"b\"\nmax_calls = 2\n", file: "b.toml")
        let c = try ConfigLoader.load(documents: [a, b])
        #expect(c.mcpServers.map(\.command) == ["b"])
        #expect(c.mcpServers.first?.maxCalls == 2)
    }
}
