import Foundation

/// Finds AWS credentials and a region where every AWS tool looks for them, in botocore's
/// order (the AWS CLI's), so `ktop attach` works wherever `aws kinesis …` works:
///
/// 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` — skipped when a
///    profile is named explicitly (`--profile`), as botocore skips them for `Session(profile=)`;
/// 2. the profile (`--profile`, else `AWS_PROFILE`, else `default`): its keys in the
///    credentials file (`[NAME]`, `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`);
/// 3. its `credential_process` (from either file; the credentials file wins);
/// 4. its keys in the config file (`[profile NAME]` or `[default]`, `AWS_CONFIG_FILE`, else
///    `~/.aws/config`).
///
/// Region: the explicit one (`--region`), else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
/// the profile's `region`, else nil (the caller decides).
///
/// Assume-role, SSO and web-identity profiles are not followed; they get an error that
/// says so and how to hand ktop credentials instead. Nothing is read from the process's
/// environment except through ``environment``, so tests are hermetic.
public struct AWSCredentialChain: Sendable {
    /// The profile named on the command line (`--profile`), nil if none.
    public var profile: String?
    /// The environment to read (`HOME`, `AWS_*`); also the environment of a `credential_process`.
    public var environment: [String: String]
    /// How long a `credential_process` may run.
    public var processTimeout: Duration
    /// The clock that decides when process credentials are due for renewal.
    public var now: @Sendable () -> Date

    public init(profile: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                processTimeout: Duration = .seconds(60),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.profile = profile
        self.environment = environment
        self.processTimeout = processTimeout
        self.now = now
    }

    /// The profile whose settings are read: `--profile`, else `AWS_PROFILE`, else `default`.
    public var profileName: String { profile ?? env("AWS_PROFILE") ?? "default" }

    public var credentialsFilePath: String {
        expandHome(env("AWS_SHARED_CREDENTIALS_FILE") ?? "~/.aws/credentials")
    }

    public var configFilePath: String { expandHome(env("AWS_CONFIG_FILE") ?? "~/.aws/config") }

    /// Finds credentials (running a `credential_process` once, so that its failure is
    /// reported now) and the region.
    /// - Parameter explicitRegion: `--region`, which wins over every other source.
    public func resolve(region explicitRegion: String? = nil) throws(AWSCredentialError) -> AWSResolvedCredentials {
        let region = try self.region(explicit: explicitRegion)
        if profile == nil, let keyId = env("AWS_ACCESS_KEY_ID") {
            guard let secret = env("AWS_SECRET_ACCESS_KEY") else {
                throw AWSCredentialError(.incomplete, "incomplete AWS credentials: AWS_ACCESS_KEY_ID is set but "
                                         + "AWS_SECRET_ACCESS_KEY is not")
            }
            let token = env("AWS_SESSION_TOKEN") ?? env("AWS_SECURITY_TOKEN")
            let credentials = AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token)
            return AWSResolvedCredentials(provider: AWSCredentialsProvider(credentials), source: "environment",
                                          profile: nil, region: region)
        }

        let name = profileName
        let files = try ProfileFiles(chain: self)
        let fromCredentialsFile = files.credentials?.credentialsProfile(name)
        let fromConfigFile = files.config?.configProfile(name)
        guard fromCredentialsFile != nil || fromConfigFile != nil else { throw missingProfile(name, files) }

        if let section = fromCredentialsFile,
           let keys = try staticKeys(section, profile: name, path: files.credentialsPath) {
            return AWSResolvedCredentials(provider: AWSCredentialsProvider(keys),
                                          source: "profile \(name) in \(files.credentialsPath)", profile: name,
                                          region: region)
        }
        // botocore merges the credentials file's section over the config file's.
        let merged = (fromConfigFile ?? [:]).merging(fromCredentialsFile ?? [:]) { _, credentials in credentials }
        if let command = merged["credential_process"], !command.isEmpty {
            let process = CredentialProcess(command: command, profile: name, environment: environment,
                                            timeout: processTimeout)
            let initial = try process.fetch()
            let provider = AWSCredentialsProvider(initial: initial, source: { () throws(AWSCredentialError) in
                try process.fetch()
            }, now: now)
            return AWSResolvedCredentials(provider: provider, source: "credential_process of profile \(name)",
                                          profile: name, region: region)
        }
        if let section = fromConfigFile, let keys = try staticKeys(section, profile: name, path: files.configPath) {
            return AWSResolvedCredentials(provider: AWSCredentialsProvider(keys),
                                          source: "profile \(name) in \(files.configPath)", profile: name,
                                          region: region)
        }
        throw unusableProfile(name, merged, files)
    }

    /// The region to use: `explicit`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the
    /// profile's `region` (credentials file over config file, as botocore merges them), else nil.
    public func region(explicit: String? = nil) throws(AWSCredentialError) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") { return region }
        let files = try ProfileFiles(chain: self)
        let name = profileName
        for section in [files.credentials?.credentialsProfile(name), files.config?.configProfile(name)] {
            if let region = section?["region"], !region.isEmpty { return region }
        }
        return nil
    }

    // MARK: pieces

    /// Both keys of a profile section, nil if it has neither; one without the other is an error.
    private func staticKeys(_ section: [String: String], profile name: String,
                            path: String) throws(AWSCredentialError) -> AWSCredentials? {
        func value(_ key: String) throws(AWSCredentialError) -> String? {
            guard let value = section[key], !value.isEmpty else { return nil }
            if value.contains("\n") {
                throw AWSCredentialError(.malformedFile, "profile '\(name)' in \(path): \(key) runs on over an "
                                         + "indented line (an indented line continues the value above it)")
            }
            return value
        }
        let keyId = try value("aws_access_key_id")
        let secret = try value("aws_secret_access_key")
        switch (keyId, secret) {
        case (nil, nil):
            return nil
        case (let keyId?, let secret?):
            return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret,
                                  sessionToken: try value("aws_session_token"))
        case (nil, _?):
            throw AWSCredentialError(.incomplete, "incomplete AWS credentials: profile '\(name)' in \(path) has "
                                     + "aws_secret_access_key but no aws_access_key_id")
        case (_?, nil):
            throw AWSCredentialError(.incomplete, "incomplete AWS credentials: profile '\(name)' in \(path) has "
                                     + "aws_access_key_id but no aws_secret_access_key")
        }
    }

    private func missingProfile(_ name: String, _ files: ProfileFiles) -> AWSCredentialError {
        let places = "\(files.credentialsPath) or \(files.configPath)"
            + (files.credentials == nil && files.config == nil ? " (neither file exists)" : "")
        let known = files.profileNames
        let knownText = known.isEmpty ? "" : "; profiles there: " + known.joined(separator: ", ")
        if let explicit = profile {
            return AWSCredentialError(.profileNotFound, "AWS profile '\(explicit)' not found in \(places)\(knownText)")
        }
        let which = env("AWS_PROFILE") != nil ? "profile '\(name)' (from AWS_PROFILE)" : "profile '\(name)'"
        return AWSCredentialError(
            env("AWS_PROFILE") != nil ? .profileNotFound : .notFound,
            "no AWS credentials: AWS_ACCESS_KEY_ID is not set, \(which) not found in \(places)\(knownText) "
                + "(set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile NAME)")
    }

    /// A profile that exists but holds no keys or process ktop can use.
    private func unusableProfile(_ name: String, _ settings: [String: String],
                                 _ files: ProfileFiles) -> AWSCredentialError {
        let instead = "export its credentials (`aws configure export-credentials --profile \(name) --format env`) "
            + "or give it a credential_process"
        if settings["role_arn"] != nil {
            return AWSCredentialError(.unsupported, "AWS profile '\(name)' assumes a role (role_arn), which ktop "
                                      + "does not do itself; \(instead)")
        }
        if settings["sso_session"] != nil || settings["sso_start_url"] != nil {
            return AWSCredentialError(.unsupported, "AWS profile '\(name)' uses IAM Identity Center (SSO), which "
                                      + "ktop does not do itself; \(instead)")
        }
        if settings["web_identity_token_file"] != nil {
            return AWSCredentialError(.unsupported, "AWS profile '\(name)' uses a web identity token, which ktop "
                                      + "does not do itself; \(instead)")
        }
        return AWSCredentialError(.incomplete, "no AWS credentials in profile '\(name)' (\(files.credentialsPath), "
                                  + "\(files.configPath)): it has no aws_access_key_id/aws_secret_access_key "
                                  + "and no credential_process")
    }

    func env(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// `~` and `~/…` expand to `HOME`, as Python's `expanduser`.
    func expandHome(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = env("HOME") ?? NSHomeDirectory()
        return home + path.dropFirst()
    }
}

/// Where ``AWSCredentialChain`` found credentials, and the region it settled on.
public struct AWSResolvedCredentials: Sendable {
    /// Signs requests with them; renews process credentials before they expire.
    public var provider: AWSCredentialsProvider
    /// `environment`, `profile NAME in PATH` or `credential_process of profile NAME`, for the screen.
    public var source: String
    /// The profile the credentials came from (nil: the environment), e.g. for the `--profile`
    /// of a command the screen suggests.
    public var profile: String?
    /// nil when no source names one: the caller decides (a local emulator does not care).
    public var region: String?
}

/// Why no usable credentials were found: one line naming where ktop looked.
public struct AWSCredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Nothing anywhere: no environment keys and no (default) profile.
        case notFound
        /// The named profile (`--profile`, `AWS_PROFILE`) is in neither file.
        case profileNotFound
        /// One key without the other, or a profile with neither keys nor a process.
        case incomplete
        /// A profile kind ktop does not follow (assume-role, SSO, web identity).
        case unsupported
        /// A shared file that cannot be read or parsed.
        case malformedFile
        /// The `credential_process` failed, timed out or printed something unusable.
        case process
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The two shared files of one resolution, each read once (nil: no such file).
private struct ProfileFiles {
    let credentialsPath: String
    let configPath: String
    let credentials: AWSConfigFile?
    let config: AWSConfigFile?

    init(chain: AWSCredentialChain) throws(AWSCredentialError) {
        credentialsPath = chain.credentialsFilePath
        configPath = chain.configFilePath
        credentials = try AWSConfigFile.load(path: credentialsPath)
        config = try AWSConfigFile.load(path: configPath)
    }

    var profileNames: [String] {
        var seen = Set<String>()
        return ((credentials?.credentialsProfileNames ?? []) + (config?.configProfileNames ?? []))
            .filter { seen.insert($0).inserted }
    }
}
