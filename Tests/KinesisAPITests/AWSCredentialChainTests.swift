import Foundation
@testable import KinesisAPI
import StreamEngine
import Testing

/// A throwaway HOME with `.aws/credentials` and `.aws/config` as a test writes them.
private final class FakeHome {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ktop-aws-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/.aws", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var credentialsPath: String { path + "/.aws/credentials" }
    var configPath: String { path + "/.aws/config" }

    func write(_ relative: String, _ text: String) throws {
        try text.write(toFile: path + "/" + relative, atomically: true, encoding: .utf8)
    }

    func credentials(_ text: String) throws { try write(".aws/credentials", text) }
    func config(_ text: String) throws { try write(".aws/config", text) }

    /// A `credential_process` script in HOME; returns the command line to run it.
    ///
    /// Run as `/bin/sh FILE`, not executed itself: a process that another test spawns
    /// while this file is still open for writing would make exec fail with ETXTBSY.
    func script(_ name: String, _ body: String) throws -> String {
        try write(name, body)
        return "/bin/sh " + path + "/" + name
    }

    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HOME": path, "PATH": "/usr/bin:/bin"].merging(extra) { _, new in new }
    }

    func chain(profile: String? = nil, _ extra: [String: String] = [:], timeout: Duration = .seconds(10),
               now: @escaping @Sendable () -> Date = { Date() }) -> AWSCredentialChain {
        AWSCredentialChain(profile: profile, environment: environment(extra), processTimeout: timeout, now: now)
    }
}

private func resolveError(_ chain: AWSCredentialChain,
                          sourceLocation: SourceLocation = #_sourceLocation) -> AWSCredentialError? {
    do {
        let resolved = try chain.resolve()
        Issue.record("expected an error, got credentials from \(resolved.source)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// A clock a test moves by hand.
private final class TestClock: Sendable {
    let time: LockedValue<Date>
    init(_ start: Date) { time = LockedValue(start) }
    func now() -> Date { time.withLock { $0 } }
    func set(_ date: Date) { time.withLock { $0 = date } }
}

@Suite("AWS credential chain")
struct AWSCredentialChainTests {
    // MARK: environment

    @Test func environmentKeysWin() throws {
        let home = try FakeHome()
        try home.credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n")
        let resolved = try home.chain(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "ENVSECRET",
                                       "AWS_SESSION_TOKEN": "TOKEN"]).resolve()
        #expect(resolved.source == "environment")
        #expect(try resolved.provider.credentials()
                == AWSCredentials(accessKeyId: "ENVKEY", secretAccessKey: "ENVSECRET", sessionToken: "TOKEN"))
        #expect(resolved.profile == nil)
    }

    @Test func environmentSecurityTokenIsTheLegacyFallback() throws {
        let home = try FakeHome()
        let resolved = try home.chain(["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S",
                                       "AWS_SECURITY_TOKEN": "OLD"]).resolve()
        #expect(try resolved.provider.credentials().sessionToken == "OLD")
    }

    @Test func emptyEnvironmentValuesCountAsUnset() throws {
        let home = try FakeHome()
        try home.credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n")
        let resolved = try home.chain(["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                                       "AWS_SESSION_TOKEN": ""]).resolve()
        #expect(resolved.source == "profile default in \(home.credentialsPath)")
        #expect(try resolved.provider.credentials().sessionToken == nil)
    }

    @Test func environmentKeyWithoutSecretSaysWhichIsMissing() throws {
        let home = try FakeHome()
        let error = resolveError(home.chain(["AWS_ACCESS_KEY_ID": "K"]))
        #expect(error?.kind == .incomplete)
        #expect(error?.message
                == "incomplete AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
    }

    @Test func explicitProfileSkipsEnvironmentKeys() throws {
        let home = try FakeHome()
        try home.credentials("[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = DEVSECRET\n")
        let env = ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "ENVSECRET"]
        let resolved = try home.chain(profile: "dev", env).resolve()
        #expect(resolved.source == "profile dev in \(home.credentialsPath)")
        #expect(try resolved.provider.credentials().accessKeyId == "DEVKEY")
        // AWS_PROFILE, unlike --profile, does not override environment keys (botocore).
        let viaEnv = try home.chain(env.merging(["AWS_PROFILE": "dev"]) { $1 }).resolve()
        #expect(viaEnv.source == "environment")
    }

    // MARK: files

    @Test func credentialsFileDefaultProfile() throws {
        let home = try FakeHome()
        try home.credentials("""
            [other]
            aws_access_key_id = OTHER
            aws_secret_access_key = OTHERSECRET
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = secret/with+symbols=
            aws_session_token = TOKEN==
            """)
        let resolved = try home.chain().resolve()
        #expect(resolved.source == "profile default in \(home.credentialsPath)")
        #expect(try resolved.provider.credentials()
                == AWSCredentials(accessKeyId: "AKIDDEFAULT", secretAccessKey: "secret/with+symbols=",
                                  sessionToken: "TOKEN=="))
    }

    @Test func configFileProfileSectionsAndDefault() throws {
        let home = try FakeHome()
        try home.config("""
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = DEFAULTSECRET
            [profile dev]
            aws_access_key_id = DEVKEY
            aws_secret_access_key = DEVSECRET
            [dev]
            aws_access_key_id = NOT_A_CONFIG_PROFILE
            aws_secret_access_key = X
            [profile   "two words"]
            aws_access_key_id = TWOKEY
            aws_secret_access_key = TWOSECRET
            """)
        let dev = try home.chain(["AWS_PROFILE": "dev"]).resolve()
        #expect(dev.source == "profile dev in \(home.configPath)")
        #expect(dev.profile == "dev")
        #expect(try dev.provider.credentials().accessKeyId == "DEVKEY")
        #expect(try home.chain().resolve().provider.credentials().accessKeyId == "DEFAULTKEY")
        #expect(try home.chain(profile: "two words").resolve().provider.credentials().accessKeyId == "TWOKEY")
    }

    @Test func credentialsFileBeatsConfigFile() throws {
        let home = try FakeHome()
        try home.credentials("[dev]\naws_access_key_id = CREDKEY\naws_secret_access_key = CREDSECRET\n")
        try home.config("[profile dev]\naws_access_key_id = CONFKEY\naws_secret_access_key = CONFSECRET\n"
                        + "region = eu-west-1\n")
        let resolved = try home.chain(profile: "dev").resolve()
        #expect(try resolved.provider.credentials().accessKeyId == "CREDKEY")
        #expect(resolved.region == "eu-west-1")
    }

    @Test func sharedFileLocationsFollowTheEnvironment() throws {
        let home = try FakeHome()
        try home.write("elsewhere-creds", "[default]\naws_access_key_id = MOVED\naws_secret_access_key = S\n")
        try home.write("elsewhere-config", "[default]\nregion = ap-south-1\n")
        try home.credentials("[default]\naws_access_key_id = HOMEKEY\naws_secret_access_key = S\n")
        let chain = home.chain(["AWS_SHARED_CREDENTIALS_FILE": "~/elsewhere-creds",
                                "AWS_CONFIG_FILE": home.path + "/elsewhere-config"])
        #expect(chain.credentialsFilePath == home.path + "/elsewhere-creds")
        let resolved = try chain.resolve()
        #expect(try resolved.provider.credentials().accessKeyId == "MOVED")
        #expect(resolved.source == "profile default in \(home.path)/elsewhere-creds")
        #expect(resolved.region == "ap-south-1")
    }

    @Test func commentsWhitespaceAndBotocoreSyntax() throws {
        let home = try FakeHome()
        let text = "\u{FEFF}# a comment\r\n; another\r\n\r\n  [default]   \r\n"
            + "   # indented comment\r\n"
            + "AWS_Access_Key_ID:AKIDCOLON\r\n"
            + "aws_secret_access_key   =   se=cret   \r\n"
            + "region = us-east-1 # not a comment: botocore keeps it\r\n"
            + "s3 =\r\n    max_concurrent_requests = 10\r\n\r\n    addressing_style = path\r\n"
        try home.credentials(text)
        let file = try #require(try AWSConfigFile.load(path: home.credentialsPath))
        let section = try #require(file.credentialsProfile("default"))
        #expect(section["aws_access_key_id"] == "AKIDCOLON")
        #expect(section["aws_secret_access_key"] == "se=cret")
        #expect(section["region"] == "us-east-1 # not a comment: botocore keeps it")
        #expect(section["s3"] == "\nmax_concurrent_requests = 10\n\naddressing_style = path")
        let resolved = try home.chain().resolve()
        #expect(try resolved.provider.credentials().accessKeyId == "AKIDCOLON")
    }

    @Test func defaultSectionValuesAreInherited() throws {
        let file = try AWSConfigFile(parsing: "[DEFAULT]\nregion = eu-north-1\n[a]\nx = 1\n[b]\nregion = us-west-2\n",
                                     path: "f")
        #expect(file.credentialsProfile("a")?["region"] == "eu-north-1")
        #expect(file.credentialsProfile("b")?["region"] == "us-west-2")
        #expect(file.credentialsProfile("DEFAULT") == nil)
    }

    @Test(arguments: [
        ("aws_access_key_id = X\n", "f line 1: a key before the first [section] header"),
        ("[default]\nthis is no key\n", "f line 2: expected [section] or key = value"),
        ("[default]\n= value\n", "f line 2: a value without a key"),
        ("[a]\n[b]\n[a]\n", "f line 3: section [a] appears twice"),
        ("[a]\nk = 1\nK = 2\n", "f line 3: key k appears twice in [a]"),
        ("[]\n", "f line 1: a key before the first [section] header"),
    ])
    func malformedFilesNameTheLine(text: String, message: String) {
        #expect(throws: AWSCredentialError(.malformedFile, message)) { try AWSConfigFile(parsing: text, path: "f") }
    }

    @Test func profileNamesAreShellWords() {
        #expect(AWSConfigFile.configProfileName("profile dev") == "dev")
        #expect(AWSConfigFile.configProfileName("profile 'a b'") == "a b")
        #expect(AWSConfigFile.configProfileName("profile a\\ b") == "a b")
        #expect(AWSConfigFile.configProfileName("profile \"a\\\"b\"") == "a\"b")
        #expect(AWSConfigFile.configProfileName("profile a b") == nil)
        #expect(AWSConfigFile.configProfileName("profile 'open") == nil)
        #expect(AWSConfigFile.configProfileName("profile") == nil)
        #expect(AWSConfigFile.configProfileName("profiledev") == nil)
        #expect(AWSConfigFile.configProfileName("default") == "default")
        #expect(AWSConfigFile.configProfileName("dev") == nil)
    }

    @Test func continuationLineInAKeyIsExplained() throws {
        let home = try FakeHome()
        try home.credentials("[default]\naws_access_key_id = K\n  aws_secret_access_key = S\n")
        let error = resolveError(home.chain())
        #expect(error?.kind == .malformedFile)
        #expect(error?.message.contains("aws_access_key_id runs on over an indented line") == true)
    }

    // MARK: what is missing

    @Test func nothingAnywhereNamesWhereKtopLooked() throws {
        let home = try FakeHome()
        let error = resolveError(home.chain())
        #expect(error?.kind == .notFound)
        #expect(error?.message == "no AWS credentials: AWS_ACCESS_KEY_ID is not set, profile 'default' not found in "
                + "\(home.credentialsPath) or \(home.configPath) (neither file exists) "
                + "(set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile NAME)")
    }

    @Test func namedProfileThatIsMissingSaysSoAndListsTheOthers() throws {
        let home = try FakeHome()
        try home.credentials("[default]\naws_access_key_id = K\naws_secret_access_key = S\n")
        try home.config("[profile prod]\nregion = us-east-1\n[default]\n")
        let explicit = resolveError(home.chain(profile: "staging"))
        #expect(explicit?.kind == .profileNotFound)
        #expect(explicit?.message == "AWS profile 'staging' not found in \(home.credentialsPath) or \(home.configPath)"
                + "; profiles there: default, prod")
        let fromEnv = resolveError(home.chain(["AWS_PROFILE": "staging"]))
        #expect(fromEnv?.kind == .profileNotFound)
        #expect(fromEnv?.message.contains("profile 'staging' (from AWS_PROFILE) not found") == true)
    }

    @Test func halfKeysSayWhichIsMissing() throws {
        let home = try FakeHome()
        try home.credentials("[a]\naws_access_key_id = K\n[b]\naws_secret_access_key = S\n[c]\naws_access_key_id =\n"
                             + "aws_secret_access_key = S\n")
        let a = resolveError(home.chain(profile: "a"))
        #expect(a?.kind == .incomplete)
        #expect(a?.message == "incomplete AWS credentials: profile 'a' in \(home.credentialsPath) has "
                + "aws_access_key_id but no aws_secret_access_key")
        let b = resolveError(home.chain(profile: "b"))
        #expect(b?.message.hasSuffix("has aws_secret_access_key but no aws_access_key_id") == true)
        // An empty value is no value.
        #expect(resolveError(home.chain(profile: "c"))?.message.hasSuffix("but no aws_access_key_id") == true)
    }

    @Test func profileWithoutCredentialsOrProcess() throws {
        let home = try FakeHome()
        try home.config("[profile bare]\nregion = us-east-1\n[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
                        + "source_profile = default\n[profile sso]\nsso_session = corp\n")
        #expect(resolveError(home.chain(profile: "bare"))?.kind == .incomplete)
        let role = resolveError(home.chain(profile: "role"))
        #expect(role?.kind == .unsupported)
        #expect(role?.message.contains("assumes a role (role_arn)") == true)
        #expect(role?.message.contains("aws configure export-credentials --profile role --format env") == true)
        #expect(resolveError(home.chain(profile: "sso"))?.message.contains("IAM Identity Center (SSO)") == true)
    }

    @Test(.enabled(if: getuid() != 0, "root reads every file"))
    func unreadableFileIsAnError() throws {
        let home = try FakeHome()
        try home.credentials("[default]\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: home.credentialsPath)
        #expect(resolveError(home.chain())?.message == "cannot read \(home.credentialsPath): permission denied")
    }

    @Test func fileThatIsNotUTF8IsAnError() throws {
        let home = try FakeHome()
        let notUTF8 = Data([0x5B, 0x64, 0x65, 0x66, 0x5D, 0x0A, 0xFF, 0xFE, 0x0A])
        try notUTF8.write(to: URL(fileURLWithPath: home.configPath))
        let error = resolveError(home.chain())
        #expect(error == AWSCredentialError(.malformedFile, "cannot read \(home.configPath): it is not UTF-8 text"))
    }

    @Test func aDirectoryWhereAFileShouldBeIsNoFile() throws {
        let home = try FakeHome()
        try FileManager.default.createDirectory(atPath: home.credentialsPath, withIntermediateDirectories: true)
        try home.config("[default]\naws_access_key_id = K\naws_secret_access_key = S\n")
        #expect(try home.chain().resolve().source == "profile default in \(home.configPath)")
    }

    // MARK: region

    @Test func regionSourcesInOrder() throws {
        let home = try FakeHome()
        try home.config("[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-northeast-1\n")
        let all = ["AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-2"]
        #expect(try home.chain(all).region(explicit: "sa-east-1") == "sa-east-1")
        #expect(try home.chain(all).region() == "us-west-2")
        #expect(try home.chain(["AWS_DEFAULT_REGION": "us-east-2"]).region() == "us-east-2")
        #expect(try home.chain(["AWS_REGION": ""]).region(explicit: "") == "eu-west-1")
        #expect(try home.chain(profile: "dev").region() == "ap-northeast-1")
        #expect(try home.chain(["AWS_PROFILE": "dev"]).region() == "ap-northeast-1")
        #expect(try home.chain(profile: "nope").region() == nil)
        try home.credentials("[dev]\nregion = me-south-1\n")
        #expect(try home.chain(profile: "dev").region() == "me-south-1")
        let empty = try FakeHome()
        #expect(try empty.chain().region() == nil)
    }

    @Test func environmentCredentialsStillTakeTheProfileRegion() throws {
        let home = try FakeHome()
        try home.config("[default]\nregion = eu-central-1\n")
        let resolved = try home.chain(["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"]).resolve()
        #expect(resolved.region == "eu-central-1")
        let keys = ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"]
        #expect(try home.chain(keys).resolve(region: "us-east-1").region == "us-east-1")
    }
}

@Suite("credential_process")
struct CredentialProcessTests {
    @Test func successRunsThroughTheShellWithTheChainsEnvironment() throws {
        let home = try FakeHome()
        let script = try home.script("creds.sh", """
            printf '{"Version": 1, "AccessKeyId": "PROCKEY", "SecretAccessKey": "%s", "SessionToken": "T"}\\n' \\
                "$SECRET_FOR_TEST"
            echo "diagnostics go to stderr" >&2
            """)
        try home.config("[default]\ncredential_process = \(script) --ignored 'arg with spaces'\n")
        let resolved = try home.chain(["SECRET_FOR_TEST": "from-env"]).resolve()
        #expect(resolved.source == "credential_process of profile default")
        #expect(try resolved.provider.credentials()
                == AWSCredentials(accessKeyId: "PROCKEY", secretAccessKey: "from-env", sessionToken: "T"))
        #expect(resolved.provider.expiration == nil)
    }

    @Test func precedenceAroundTheProcess() throws {
        let home = try FakeHome()
        let script = try home.script("creds.sh", #"echo '{"Version":1,"AccessKeyId":"PROCKEY","SecretAccessKey":"S"}'"#)
        // A process beats keys in the config file (botocore's order) …
        try home.config("[default]\ncredential_process = \(script)\n"
                        + "aws_access_key_id = CONF\naws_secret_access_key = S\n")
        #expect(try home.chain().resolve().provider.credentials().accessKeyId == "PROCKEY")
        // … keys in the credentials file beat the process.
        try home.credentials("[default]\naws_access_key_id = CRED\naws_secret_access_key = S\n")
        #expect(try home.chain().resolve().provider.credentials().accessKeyId == "CRED")
        // A process in the credentials file counts too.
        try home.credentials("[default]\ncredential_process = \(script)\n")
        try home.config("")
        #expect(try home.chain().resolve().source == "credential_process of profile default")
    }

    @Test func failingProcessReportsExitStatusAndFirstStderrLine() throws {
        let home = try FakeHome()
        let script = try home.script("fail.sh",
                                     "echo\necho '  token expired: run aws sso login  ' >&2\necho second >&2\nexit 3\n")
        try home.config("[profile sso]\ncredential_process = \(script)\n")
        let error = resolveError(home.chain(profile: "sso"))
        #expect(error?.kind == .process)
        #expect(error?.message == "credential_process of profile 'sso' (\(script)) failed with exit status 3: "
                + "token expired: run aws sso login")
    }

    @Test func missingCommandIsAShellFailure() throws {
        let home = try FakeHome()
        try home.config("[default]\ncredential_process = /nonexistent/helper --json\n")
        let message = resolveError(home.chain())?.message ?? ""
        #expect(message.contains("failed with exit status 127: "))
        #expect(message.contains("/nonexistent/helper"))
    }

    @Test(arguments: [
        ("", "printed nothing on stdout (expected JSON with Version 1)"),
        ("not json", "printed invalid JSON"),
        ("{\"Version\": 1, \"AccessKeyId\": \"K\"", "printed invalid JSON"),
        ("[1]", "printed JSON that is not an object"),
        ("{\"AccessKeyId\": \"K\", \"SecretAccessKey\": \"S\"}", "printed no Version (ktop understands Version 1)"),
        ("{\"Version\": 2, \"AccessKeyId\": \"K\", \"SecretAccessKey\": \"S\"}",
         "printed Version 2 (ktop understands Version 1)"),
        ("{\"Version\": \"1\", \"AccessKeyId\": \"K\", \"SecretAccessKey\": \"S\"}", "printed Version \"1\""),
        ("{\"Version\": 1, \"SecretAccessKey\": \"S\"}", "printed no AccessKeyId"),
        ("{\"Version\": 1, \"AccessKeyId\": \"K\", \"SecretAccessKey\": \"\"}", "printed no SecretAccessKey"),
        ("{\"Version\": 1, \"AccessKeyId\": 7, \"SecretAccessKey\": \"S\"}", "printed AccessKeyId 7, not a string"),
        ("{\"Version\": 1, \"AccessKeyId\": \"K\", \"SecretAccessKey\": \"S\", \"Expiration\": \"tomorrow\"}",
         "printed an Expiration that is not an ISO 8601 time: tomorrow"),
    ])
    func unusableOutput(stdout: String, expected: String) throws {
        let process = CredentialProcess(command: "helper", profile: "p", environment: [:])
        do {
            _ = try process.parse(Array(stdout.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .process)
            #expect(error.message.hasPrefix("credential_process of profile 'p' (helper) " + expected),
                    "\(error.message)")
        }
    }

    @Test func badJSONFromARealProcess() throws {
        let home = try FakeHome()
        let script = try home.script("bad.sh", "echo 'Version: 1'\n")
        try home.config("[default]\ncredential_process = \(script)\n")
        #expect(resolveError(home.chain())?.message.contains("printed invalid JSON") == true)
    }

    @Test(arguments: [
        ("2026-11-30T12:00:00Z", 1_796_040_000.0),
        ("2026-11-30T12:00:00.250Z", 1_796_040_000.25),
        ("2026-11-30T14:00:00+02:00", 1_796_040_000.0),
    ])
    func expirationFormats(text: String, seconds: Double) throws {
        let process = CredentialProcess(command: "helper", profile: "p", environment: [:])
        let json = "{\"Version\": 1.0, \"AccessKeyId\": \"K\", \"SecretAccessKey\": \"S\", \"Expiration\": \"\(text)\"}"
        let parsed = try process.parse(Array(json.utf8))
        #expect(parsed.expiration == Date(timeIntervalSince1970: seconds))
        #expect(parsed.credentials.sessionToken == nil)
    }

    @Test func hangingProcessIsKilledAtTheTimeout() throws {
        let home = try FakeHome()
        let script = try home.script("hang.sh", "echo started >&2\nsleep 5\n")
        try home.config("[default]\ncredential_process = \(script)\n")
        let started = ContinuousClock.now
        let error = resolveError(home.chain(timeout: .milliseconds(300)))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(error?.message
                == "credential_process of profile 'default' (\(script)) did not finish within 0.3 seconds")
    }

    @Test func backgroundChildHoldingThePipeDoesNotHoldKtop() throws {
        let home = try FakeHome()
        // The helper exits at once but leaves a child with stdout open (a browser, say).
        let script = try home.script("bg.sh", """
            (sleep 5) &
            echo '{"Version":1,"AccessKeyId":"K","SecretAccessKey":"S"}'
            """)
        try home.config("[default]\ncredential_process = \(script)\n")
        let started = ContinuousClock.now
        let resolved = try home.chain(timeout: .seconds(10)).resolve()
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try resolved.provider.credentials().accessKeyId == "K")
    }

    @Test func expiringCredentialsAreRenewedWithinFiveMinutes() throws {
        let home = try FakeHome()
        // Each run prints the next key: AKID1, AKID2, …
        let script = try home.script("counter.sh", """
            n=$(cat "$HOME/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$HOME/count"
            printf '{"Version":1,"AccessKeyId":"AKID%s","SecretAccessKey":"S",' $n
            printf '"SessionToken":"T","Expiration":"2026-11-30T12:00:00Z"}'
            """)
        try home.config("[default]\ncredential_process = \(script)\n")
        let expiration = Date(timeIntervalSince1970: 1_796_040_000)
        let clock = TestClock(expiration - 3600)
        let resolved = try home.chain(now: { clock.now() }).resolve()
        let provider = resolved.provider
        #expect(provider.expiration == expiration)
        #expect(try provider.credentials().accessKeyId == "AKID1")
        clock.set(expiration - 300 - 1)
        #expect(try provider.credentials().accessKeyId == "AKID1")
        clock.set(expiration - 300)
        #expect(try provider.credentials().accessKeyId == "AKID2")
        // Still inside the window (the helper returned the same expiration): renewed again.
        #expect(try provider.credentials().accessKeyId == "AKID3")
    }
}

@Suite("AWSCredentialsProvider")
struct AWSCredentialsProviderTests {
    static let expiration = Date(timeIntervalSince1970: 2_000_000_000)

    private func keys(_ id: String) -> AWSCredentials { AWSCredentials(accessKeyId: id, secretAccessKey: "S") }

    @Test func fixedCredentialsNeverCallASource() throws {
        let provider = AWSCredentialsProvider(keys("FIXED"))
        #expect(try provider.credentials().accessKeyId == "FIXED")
        #expect(provider.expiration == nil)
    }

    @Test func failedRenewalKeepsValidCredentialsThenThrowsOnceExpired() throws {
        let clock = TestClock(Self.expiration - 60)
        let runs = LockedValue(0)
        let failure = AWSCredentialError(.process, "helper broke")
        let provider = AWSCredentialsProvider(
            initial: AWSExpiringCredentials(credentials: keys("OLD"), expiration: Self.expiration),
            source: { () throws(AWSCredentialError) -> AWSExpiringCredentials in
                runs.withLock { $0 += 1 }
                throw failure
            },
            now: { clock.now() })
        #expect(try provider.credentials().accessKeyId == "OLD")
        #expect(runs.withLock { $0 } == 1)
        // Within the back-off (29 s after the failure): not run again.
        clock.set(Self.expiration - 31)
        #expect(try provider.credentials().accessKeyId == "OLD")
        #expect(runs.withLock { $0 } == 1)
        clock.set(Self.expiration - 5)
        #expect(try provider.credentials().accessKeyId == "OLD")
        #expect(runs.withLock { $0 } == 2)
        // Expired and the last failure recent: the failure, without running the source.
        clock.set(Self.expiration)
        #expect(throws: failure) { try provider.credentials() }
        #expect(runs.withLock { $0 } == 2)
        clock.set(Self.expiration + 25)
        #expect(throws: failure) { try provider.credentials() }
        #expect(runs.withLock { $0 } == 3)
    }

    @Test func concurrentCallersRenewOnce() throws {
        let clock = TestClock(Self.expiration - 10)
        let runs = LockedValue(0)
        let provider = AWSCredentialsProvider(
            initial: AWSExpiringCredentials(credentials: keys("OLD"), expiration: Self.expiration),
            source: { () throws(AWSCredentialError) -> AWSExpiringCredentials in
                let n = runs.withLock { $0 += 1; return $0 }
                Thread.sleep(forTimeInterval: 0.05)  // a slow helper, so callers overlap
                return AWSExpiringCredentials(credentials: AWSCredentials(accessKeyId: "NEW\(n)", secretAccessKey: "S"),
                                              expiration: Self.expiration + 3600)
            },
            now: { clock.now() })
        let ids = LockedValue<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let id = (try? provider.credentials().accessKeyId) ?? "error"
            ids.withLock { $0.append(id) }
        }
        #expect(runs.withLock { $0 } == 1)
        #expect(Set(ids.withLock { $0 }).isSubset(of: ["OLD", "NEW1"]))
        #expect(try provider.credentials().accessKeyId == "NEW1")
    }
}
