/// The `corpus` stage of the end-to-end pipelines that need labelled reviews without the real corpus:
/// a seeded awk script writes `reviewsPerLabel` toy positive and negative reviews (an opening plus four
/// praise or complaint words) into `pos.txt` and `neg.txt`.
enum ToyReviewCorpus {
    static func stage(reviewsPerLabel: Int) -> String {
        """
          corpus:
            run: >-
              mkdir -p ${outs.dir} &&
              awk -v dir=${outs.dir} 'BEGIN {
                split("这部电影很 感觉 真的很 质量", open, " ");
                split("好 喜欢 满意 推荐 不错 快 值得 开心", good, " ");
                split("差 失望 退货 垃圾 慢 不好 后悔 生气", bad, " ");
                s = 12345;
                for (f = 0; f < 2; f++) {
                  out = dir (f == 0 ? "/pos.txt" : "/neg.txt");
                  for (i = 0; i < \(reviewsPerLabel); i++) {
                    s = (s * 1103515245 + 12345) % 2147483648; line = open[1 + int(s / 65536) % 4];
                    for (j = 0; j < 4; j++) {
                      s = (s * 1103515245 + 12345) % 2147483648;
                      line = line (f == 0 ? good[1 + int(s / 65536) % 8] : bad[1 + int(s / 65536) % 8]);
                    }
                    print line "。" i > out;
                  }
                }
              }'
            outs: [dir]
        """
    }
}
