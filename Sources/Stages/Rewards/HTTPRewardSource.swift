import Foundation

/// `http`: a reward server at an `http://` URL, one POST per batch. OpenRLHF's shape is sent by
/// default (`reward_http_format: openrlhf`): `{"query": [prompt + completion, ...], "prompts": [...],
/// "labels": [...]}`, labels being the `reward_column` values (empty strings when the prompts carry
/// no such column); `reward_http_format: pipe` sends the command scorer's request instead. Either way
/// the answer is `{"rewards": [...]}` (other members are ignored).
///
/// Connection errors, timeouts, cut-off answers and 5xx statuses are retried `retries` times with
/// back-off (0.25 s, doubling, at most 4 s); a 4xx status, malformed JSON and a wrong count are not.
public final class HTTPRewardSource: RewardSource {
    public enum Format: String, Sendable, CaseIterable { case openrlhf, pipe }

    public let name: String
    public let url: String
    let endpoint: HTTPClient.Endpoint
    public let format: Format
    public let labelColumn: String
    public let timeout: Double
    public let retries: Int
    let log: (String) -> Void
    /// Seconds slept between attempts, by attempt (tests shorten it).
    var backoff: (Int) -> Double = { attempt in min(4, 0.25 * Double(1 << min(attempt, 10))) }

    public init(url: String, format: Format, labelColumn: String, timeout: Double, retries: Int,
                name: String = "http", log: @escaping (String) -> Void) throws {
        endpoint = try HTTPClient.endpoint(url)
        self.url = url
        self.name = name
        self.format = format
        self.labelColumn = labelColumn
        self.timeout = timeout
        self.retries = max(0, retries)
        self.log = log
    }

    /// The request body for `request` in this source's format.
    func body(_ request: RewardRequest) -> String {
        switch format {
        case .pipe:
            return request.pipeJSON.text
        case .openrlhf:
            let labels = request.columns[labelColumn] ?? Array(repeating: .string(""), count: request.count)
            return RewardJSON.object([
                ("query", .array(zip(request.prompts, request.completions).map { .string($0 + $1) })),
                ("prompts", .array(request.prompts.map { .string($0) })),
                ("labels", .array(labels)),
            ]).text
        }
    }

    public func score(_ request: RewardRequest) throws -> [Float] {
        let body = Array(body(request).utf8)
        var attempt = 0
        while true {
            let problem: String
            do {
                let response = try HTTPClient.post(endpoint, body: body, timeout: timeout)
                let text = String(decoding: response.body, as: UTF8.self)
                switch response.status {
                case 200..<300:
                    return try RewardResponse.rewards(from: text, rows: request.count, source: name)
                case 500..<600:
                    problem = "HTTP \(response.status): \(RewardResponse.excerpt(text))"
                default:
                    throw StageError.failed("reward server \(url) answered HTTP \(response.status): \(RewardResponse.excerpt(text))")
                }
            } catch let failure as HTTPClient.Failure {
                switch failure {
                case .connection(let why): problem = why
                case .timeout: problem = "no answer within the timeout of \(ScorerProcess.seconds(timeout)) (reward_timeout)"
                case .truncated(let why): problem = why
                case .malformed(let why): throw StageError.failed("reward server \(url) answered something that is not HTTP: \(why)")
                }
            }
            guard attempt < retries else {
                throw StageError.failed("reward server \(url): \(problem) (gave up after \(attempt + 1) attempt\(attempt == 0 ? "" : "s"); reward_retries \(retries))")
            }
            let pause = backoff(attempt)
            log("reward source '\(name)': \(url): \(problem); retrying in \(pause) s (attempt \(attempt + 2) of \(retries + 1))")
            Thread.sleep(forTimeInterval: pause)
            attempt += 1
        }
    }
}
