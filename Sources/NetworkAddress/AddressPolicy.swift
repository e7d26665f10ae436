/// Which hosts and addresses a download of ours (a worker's source or result download,
/// ocr-server's `image_url` fetch) may connect to, by ``HostScope``.
///
/// Public addresses are always allowed. Loopback and private ones only where a deployment
/// needs them (a worker uploading documents from a private store, tests, an on-premises
/// ocr-server). Link-local, cloud metadata, unspecified and reserved addresses are never
/// allowed: no document lives there, and the metadata service hands out credentials.
public struct AddressPolicy: Sendable, Hashable, CustomStringConvertible {
    public var allowsLoopback: Bool
    public var allowsPrivate: Bool

    public init(allowsLoopback: Bool, allowsPrivate: Bool) {
        self.allowsLoopback = allowsLoopback
        self.allowsPrivate = allowsPrivate
    }

    /// Public addresses only: ocr-server's default.
    public static let publicOnly = AddressPolicy(allowsLoopback: false, allowsPrivate: false)
    /// Public, private and loopback addresses: the worker's downloads (documents on a
    /// private store it uploads from), and ocr-server with private sources allowed.
    public static let allowingPrivate = AddressPolicy(allowsLoopback: true, allowsPrivate: true)

    /// Whether a host or address of this scope may be connected to.
    public func permits(_ scope: HostScope) -> Bool {
        switch scope {
        case .public: true
        case .private: allowsPrivate
        case .loopback: allowsLoopback
        case .linkLocal, .metadata, .unspecified, .reserved: false
        }
    }

    public var description: String {
        switch (allowsLoopback, allowsPrivate) {
        case (false, false): "public_only"
        case (true, true): "allowing_private"
        case (true, false): "allowing_loopback"
        case (false, true): "allowing_private_not_loopback"
        }
    }
}
