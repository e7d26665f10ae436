import PostgresSupport
import Testing

@Suite struct ConnectionOptionsTests {
    @Test("timeouts have defaults, come from the URL in seconds, and 0 leaves a server timeout to the server")
    func timeoutsFromTheURL() throws {
        let defaults = try PostgresConnectionOptions(url: "postgres://u@db.internal/ocr", environment: [:])
        #expect(defaults.connectTimeout == .seconds(10))
        #expect(defaults.statementTimeout == .seconds(30))
        #expect(defaults.lockTimeout == .seconds(10))
        #expect(defaults.idleInTransactionTimeout == .seconds(60))
        #expect(defaults.operationTimeout == .seconds(60))
        #expect(defaults.description == "postgres://u@db.internal:5432/ocr")

        let set = try PostgresConnectionOptions(
            url: "postgres://u@db.internal/ocr?connect_timeout=3&statement_timeout=1.5&lock_timeout=0"
                + "&idle_in_transaction_session_timeout=20&operation_timeout=45",
            environment: [:])
        #expect(set.connectTimeout == .seconds(3))
        #expect(set.statementTimeout == .milliseconds(1500))
        #expect(set.lockTimeout == nil)
        #expect(set.idleInTransactionTimeout == .seconds(20))
        #expect(set.operationTimeout == .seconds(45))
        #expect(
            set.description
                == "postgres://u@db.internal:5432/ocr?connect_timeout=3&operation_timeout=45&statement_timeout=1.5"
                + "&lock_timeout=0&idle_in_transaction_session_timeout=20")
        // The description parses back to the same options.
        #expect(try PostgresConnectionOptions(url: set.description, environment: [:]) == set)
    }

    @Test(
        "a timeout that is not a number of seconds from 0 to a day is refused by name",
        arguments: [
            "connect_timeout=0", "operation_timeout=0", "connect_timeout=-1", "statement_timeout=nan",
            "lock_timeout=86401", "idle_in_transaction_session_timeout=", "statement_timeout=1e400", "connect_timeout=0.0001",
        ])
    func badTimeouts(_ parameter: String) {
        let name = String(parameter.prefix { $0 != "=" })
        #expect {
            try PostgresConnectionOptions(url: "postgres://u@h/d?\(parameter)", environment: [:])
        } throws: { error in
            "\(error)".contains(name)
        }
    }

    @Test("the server's timeouts go to every session as start-up parameters, in milliseconds")
    func startupParameters() throws {
        let options = try PostgresConnectionOptions(
            url: "postgres://u@h/d?statement_timeout=2.5&lock_timeout=0", environment: [:])
        let parameters = options.clientConfiguration.options.additionalStartupParameters
        #expect(parameters.map(\.0) == ["statement_timeout", "idle_in_transaction_session_timeout"])
        #expect(parameters.map(\.1) == ["2500", "60000"])
        #expect(options.clientConfiguration.options.connectTimeout == .seconds(10))
    }

    @Test("the password never shows, and errors never hold the URL")
    func secrets() {
        let secret = "hunter2-very-secret"
        do {
            _ = try PostgresConnectionOptions(url: "postgres://u:\(secret)@h/d?sslmode=maybe", environment: [:])
            Issue.record("accepted a bad sslmode")
        } catch {
            #expect(!"\(error)".contains(secret))
        }
        let options = PostgresConnectionOptions(host: "db", password: secret)
        #expect(!options.description.contains(secret))
        #expect(!String(reflecting: options).contains(secret))
    }
}
